using System.Buffers.Binary;
using System.Text;

namespace Wal.Topology.Delay;

/// <summary>
/// Key of a pending timer: due time (ms since the epoch, big-endian, so byte order is time order), the record's id,
/// then the offset of the log record it carries, so a range scan from the start up to "now" yields exactly the due
/// timers, in due order, and two timers due at the same millisecond do not collide.
/// </summary>
/// <remarks>
/// The offset tells apart two records of one id due at the same millisecond: the id is the caller's optional
/// idempotency key, and <c>wal replay --target</c> writes an entry again with its id, accept time and lifecycle and
/// another target. Keyed by due time and id alone, a replayed delayed write still waiting took the original's timer
/// over, and the original's target never got the write. Timers stored before the offset was added have none, and fire
/// as any other.
/// </remarks>
public static class DueKey
{
    private const int TimeBytes = sizeof(long);
    private const int OffsetBytes = sizeof(long);

    /// <summary>The key of the timer of the record at <paramref name="sourceOffset"/> (negative: not known) due at <paramref name="dueAtMs"/>.</summary>
    public static byte[] Encode(long dueAtMs, string id, long sourceOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dueAtMs);
        ArgumentNullException.ThrowIfNull(id);
        var idBytes = Encoding.UTF8.GetByteCount(id);
        var key = new byte[TimeBytes + idBytes + (sourceOffset < 0 ? 0 : OffsetBytes)];
        BinaryPrimitives.WriteInt64BigEndian(key, dueAtMs);
        Encoding.UTF8.GetBytes(id, key.AsSpan(TimeBytes));
        if (sourceOffset >= 0)
        {
            BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(TimeBytes + idBytes), sourceOffset);
        }

        return key;
    }

    /// <summary>The key a timer stored before keys held the record's offset has: due time and id alone.</summary>
    public static byte[] Encode(long dueAtMs, string id) => Encode(dueAtMs, id, sourceOffset: -1);

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

    /// <summary>Whether <paramref name="key"/> is a timer key of a record with <paramref name="id"/>, with or without its offset.</summary>
    public static bool IsOf(ReadOnlySpan<byte> key, string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var idBytes = Encoding.UTF8.GetBytes(id);
        var rest = key[TimeBytes..];
        return rest.StartsWith(idBytes) && (rest.Length == idBytes.Length || rest.Length == idBytes.Length + OffsetBytes);
    }
}
