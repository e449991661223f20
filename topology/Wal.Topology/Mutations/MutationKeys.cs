using System.Buffers.Binary;
using System.Text;

namespace Wal.Topology.Mutations;

/// <summary>
/// Keys of the <c>{ns}-mutations</c> store, which holds two kinds of entry told apart by a prefix
/// byte: <c>p</c> + request id → the mutation's progress, and <c>t</c> + due time (ms, big-endian)
/// + request id → a timer, so a scan of the <c>t</c> range up to "now" yields the due timers in
/// due order.
/// </summary>
public static class MutationKeys
{
    private const byte ProgressTag = (byte)'p';
    private const byte TimerTag = (byte)'t';
    private const int TimerHeader = 1 + sizeof(long);

    public static byte[] Progress(string requestId)
    {
        var key = new byte[1 + Encoding.UTF8.GetByteCount(requestId)];
        key[0] = ProgressTag;
        Encoding.UTF8.GetBytes(requestId, key.AsSpan(1));
        return key;
    }

    public static byte[] Timer(long dueAtMs, string requestId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dueAtMs);
        var key = new byte[TimerHeader + Encoding.UTF8.GetByteCount(requestId)];
        key[0] = TimerTag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), dueAtMs);
        Encoding.UTF8.GetBytes(requestId, key.AsSpan(TimerHeader));
        return key;
    }

    /// <summary>The inclusive lower bound of every timer.</summary>
    public static byte[] FirstTimer() => [TimerTag];

    /// <summary>The inclusive lower bound of the timers due at or after <paramref name="dueAtMs"/>.</summary>
    public static byte[] TimersFrom(long dueAtMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dueAtMs);
        var key = new byte[TimerHeader];
        key[0] = TimerTag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), dueAtMs);
        return key;
    }

    /// <summary>The exclusive upper bound of the timers due at or before <paramref name="nowMs"/>.</summary>
    public static byte[] TimersDueBy(long nowMs)
    {
        var key = new byte[TimerHeader];
        key[0] = TimerTag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), nowMs + 1);
        return key;
    }

    public static long TimerDueAtMs(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadInt64BigEndian(key[1..]);

    public static string TimerRequestId(ReadOnlySpan<byte> key) => Encoding.UTF8.GetString(key[TimerHeader..]);
}
