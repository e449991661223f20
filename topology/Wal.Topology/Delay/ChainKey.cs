using System.Buffers.Binary;
using System.Text;

namespace Wal.Topology.Delay;

/// <summary>
/// Key of a retry chain's marker in the timer store: its value (<see cref="MarkerValue"/>) names the one carrier of the
/// log record at a source position, a timer or a place in its key's queue, and the carrier that one replaces. Timers
/// are keyed by due time, so a crash between a retry's put and the fired timer's delete restored both, and each fired
/// on its own and made a chain of its own: the record was delivered and retried twice as often, and dead-lettered
/// twice. A fired timer its marker does not name is dropped, and so is the record's input read again while its carrier
/// is stored. The marker is saved before the carrier it names, and deleted before the chain's last one.
/// </summary>
/// <remarks>
/// Keyed by source position rather than entry id: the id is the caller's optional idempotency key, and two writes
/// sharing one must not take each other's timers for stale. The marker lives in the timer store itself so that its
/// writes and the timers' reach the one changelog partition in order, and a crash keeps a prefix of them. Its first
/// byte is 0xFF, which no due key has (a due time is not negative, so its first byte is below 0x80): every marker sorts
/// after every timer, and no scan for due timers reaches one.
/// </remarks>
public static class ChainKey
{
    private const byte Prefix = 0xFF;

    /// <summary>The marker key of the record at <paramref name="partition"/> and <paramref name="offset"/> of <paramref name="topic"/>.</summary>
    public static byte[] Encode(string topic, int partition, long offset)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var key = new byte[1 + sizeof(int) + sizeof(long) + Encoding.UTF8.GetByteCount(topic)];
        key[0] = Prefix;
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(1), partition);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1 + sizeof(int)), offset);
        Encoding.UTF8.GetBytes(topic, key.AsSpan(1 + sizeof(int) + sizeof(long)));
        return key;
    }

    /// <summary>Whether <paramref name="key"/> of the timer store is a chain's marker rather than a timer.</summary>
    public static bool IsMarker(ReadOnlySpan<byte> key) => !key.IsEmpty && key[0] == Prefix;
}
