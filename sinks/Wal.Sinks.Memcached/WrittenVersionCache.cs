namespace Wal.Sinks.Memcached;

/// <summary>
/// Remembers, per key, the version and CAS token of the last item this sink stored, in a fixed
/// number of slots: four-way set associative, a full set losing a random entry, so memory stays
/// flat however many keys pass through. Entries hold a 64-bit hash of the key, not the key.
/// </summary>
/// <remarks>
/// Why it is safe to write on its word alone: the write it enables is <c>ms C&lt;cas&gt;</c>, which
/// memcached applies only if the item is still the very one we stored at the remembered version.
/// Any change since (another writer, expiry, eviction) fails the compare, and the sink falls back
/// to reading what is there. A hash collision is as harmless: memcached hands out CAS tokens from
/// one counter, so another key's token never matches this key's item. One hole remains: a
/// restarted memcached counts tokens from 1 again, so a remembered token could match an unrelated
/// newer item. Entries therefore carry the client's connection generation, read before the write
/// was sent, and a hit needs the same generation now (a restart always forces a new connection).
/// A hit saves the read, which halves the round trips of a key written over and over by the task
/// that owns its partition.
/// </remarks>
internal sealed class WrittenVersionCache
{
    private const int Ways = 4;
    private readonly Entry?[] _slots;
    private readonly int _sets;

    public WrittenVersionCache(int slots)
    {
        _sets = Math.Max(1, slots / Ways);
        _slots = new Entry?[_sets * Ways];
    }

    public bool TryGet(string key, long generation, out long version, out ulong cas)
    {
        var hash = Hash(key);
        if (Find(hash, out _) is { } entry && entry.Generation == generation)
        {
            version = entry.Version;
            cas = entry.Cas;
            return true;
        }

        version = 0;
        cas = 0;
        return false;
    }

    public void Remember(string key, long generation, long version, ulong cas)
    {
        // A zero token is none (memcached run with -C): the write it would enable compares nothing.
        if (cas == 0)
        {
            return;
        }

        var hash = Hash(key);
        var fresh = new Entry(hash, generation, version, cas);
        if (Find(hash, out var at) is null)
        {
            var first = SetStart(hash);
            at = first + Random.Shared.Next(Ways);
            for (var i = first; i < first + Ways; i++)
            {
                if (Volatile.Read(ref _slots[i]) is null)
                {
                    at = i;
                    break;
                }
            }
        }

        // Racing writers may overwrite each other's entries; that only costs a read later.
        Volatile.Write(ref _slots[at], fresh);
    }

    public void Forget(string key)
    {
        if (Find(Hash(key), out var at) is { } entry)
        {
            Interlocked.CompareExchange(ref _slots[at], null, entry);
        }
    }

    private Entry? Find(ulong hash, out int at)
    {
        var first = SetStart(hash);
        for (var i = first; i < first + Ways; i++)
        {
            var entry = Volatile.Read(ref _slots[i]);
            if (entry is not null && entry.KeyHash == hash)
            {
                at = i;
                return entry;
            }
        }

        at = -1;
        return null;
    }

    private int SetStart(ulong hash) => (int)(hash % (ulong)_sets) * Ways;

    private static ulong Hash(string key)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    private sealed record Entry(ulong KeyHash, long Generation, long Version, ulong Cas);
}
