namespace Wal.Sinks.Memcached;

/// <summary>
/// Remembers, per key, the version and CAS token of the last item this sink stored, in a fixed
/// number of slots (a direct-mapped cache: a colliding key replaces the entry, so memory stays
/// flat however many keys pass through).
/// </summary>
/// <remarks>
/// Why it is safe to write on its word alone: the write it enables is <c>ms C&lt;cas&gt;</c>, which
/// memcached applies only if the item is still the very one we stored at the remembered version.
/// Any change since (another writer, expiry, eviction, restart) fails the compare, and the sink
/// falls back to reading what is there. One hole remains: a restarted memcached counts CAS tokens
/// from 1 again, so a remembered token could match an unrelated newer item. Entries therefore carry
/// the client's connection generation, read before the write was sent, and a hit needs the same
/// generation now (a restart always forces a new connection). A hit saves the read, which halves the round trips of a
/// key written over and over by the task that owns its partition.
/// </remarks>
internal sealed class WrittenVersionCache
{
    private readonly Entry?[] _slots;

    public WrittenVersionCache(int slots) => _slots = new Entry?[slots];

    public bool TryGet(string key, long generation, out long version, out ulong cas)
    {
        var entry = Volatile.Read(ref _slots[Slot(key)]);
        if (entry is not null && entry.Key == key && entry.Generation == generation)
        {
            version = entry.Version;
            cas = entry.Cas;
            return true;
        }

        version = 0;
        cas = 0;
        return false;
    }

    public void Remember(string key, long generation, long version, ulong cas) => Volatile.Write(ref _slots[Slot(key)], new Entry(key, generation, version, cas));

    public void Forget(string key)
    {
        var slot = Slot(key);
        var entry = Volatile.Read(ref _slots[slot]);
        if (entry is not null && entry.Key == key)
        {
            Interlocked.CompareExchange(ref _slots[slot], null, entry);
        }
    }

    private int Slot(string key) => (int)((uint)StringComparer.Ordinal.GetHashCode(key) % (uint)_slots.Length);

    private sealed record Entry(string Key, long Generation, long Version, ulong Cas);
}
