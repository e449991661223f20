namespace Wal.Streams.State;

/// <summary>Unsigned lexicographic byte order, the order RocksDB's default comparator uses.</summary>
internal static class ByteKeyComparer
{
    public static int Compare(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y) => x.SequenceCompareTo(y);
}
