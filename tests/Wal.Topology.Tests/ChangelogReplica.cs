using Wal.Streams;
using Wal.Streams.State;
using Wal.Streams.TestDriver;

namespace Wal.Topology.Tests;

/// <summary>
/// What another instance would restore from a store's changelog if this one died now: every
/// change produced so far, the last write per key winning and tombstones removing.
/// </summary>
internal sealed class ChangelogReplica(TestOutputTopic<byte[], byte[]> changelog)
{
    private readonly Dictionary<string, byte[]> _restored = new(StringComparer.Ordinal);

    /// <summary>Applies the changes produced since the last call; returns the keys restored.</summary>
    public IReadOnlyCollection<byte[]> CatchUp()
    {
        foreach (var change in changelog.ReadRecordsToList())
        {
            var key = Convert.ToHexString(change.Key);
            if (change.Value is null)
            {
                _restored.Remove(key);
            }
            else
            {
                _restored[key] = change.Value;
            }
        }

        return [.. _restored.Keys.Select(Convert.FromHexString)];
    }

    /// <summary>Applies <paramref name="writes"/>, changes read from a store's changelog, to <paramref name="store"/>, as a restore would.</summary>
    public static void Replay(IKeyValueStore store, IEnumerable<Record<byte[], byte[]>> writes)
    {
        foreach (var write in writes)
        {
            if (write.Value is null)
            {
                store.Delete(write.Key);
            }
            else
            {
                store.Put(write.Key, write.Value);
            }
        }
    }

    /// <summary>The restored value of <paramref name="key"/> as of the last <see cref="CatchUp"/>.</summary>
    public byte[]? Get(byte[] key) => _restored.GetValueOrDefault(Convert.ToHexString(key));
}
