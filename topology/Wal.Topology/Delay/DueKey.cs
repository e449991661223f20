using System.Buffers.Binary;
using System.Text;

namespace Wal.Topology.Delay;

/// <summary>
/// Key of a pending timer: due time (ms since the epoch, big-endian, so byte order is time order)
/// then the record's id, so a range scan from the start up to "now" yields exactly the due
/// timers, in due order, and two timers due at the same millisecond do not collide.
/// </summary>
public static class DueKey
{
    private const int TimeBytes = sizeof(long);

    public static byte[] Encode(long dueAtMs, string id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dueAtMs);
        var key = new byte[TimeBytes + Encoding.UTF8.GetByteCount(id)];
        BinaryPrimitives.WriteInt64BigEndian(key, dueAtMs);
        Encoding.UTF8.GetBytes(id, key.AsSpan(TimeBytes));
        return key;
    }

    /// <summary>The inclusive lower bound of a scan for timers due at or after <paramref name="fromMs"/>.</summary>
    public static byte[] LowerBound(long fromMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromMs);
        var key = new byte[TimeBytes];
        BinaryPrimitives.WriteInt64BigEndian(key, fromMs);
        return key;
    }

    /// <summary>The exclusive upper bound of a scan for timers due at or before <paramref name="nowMs"/>.</summary>
    public static byte[] UpperBound(long nowMs)
    {
        var key = new byte[TimeBytes];
        BinaryPrimitives.WriteInt64BigEndian(key, nowMs + 1);
        return key;
    }

    public static long DueAtMs(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadInt64BigEndian(key);

    public static string Id(ReadOnlySpan<byte> key) => Encoding.UTF8.GetString(key[TimeBytes..]);
}
