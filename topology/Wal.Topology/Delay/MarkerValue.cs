using System.Buffers.Binary;

namespace Wal.Topology.Delay;

/// <summary>
/// Value of a retry chain's marker (<see cref="ChainKey"/>): the key of the record's next carrier (the timer its retry
/// or promotion is stored under, or its place in a Kafka record key's queue, <see cref="HoldKey.Waiting"/>), and the
/// key of the carrier it replaces, if any. Either the next key alone, or <c>0xFF</c>, the previous key's length
/// (big-endian, two bytes), the previous key, then the next key.
/// </summary>
/// <remarks>
/// The marker is saved before the carrier it names, so a crash may keep a marker naming a carrier it did not keep. The
/// previous key says what still carries the record then: the timer that fired (a retry's first timer is due already,
/// and must be attempted before later entries of its key), or the queue the record was let go from; without it, the
/// record read again took itself for the chain's only carrier and was delivered while that timer still waited to
/// repeat it. A marker written before the previous key was kept is the next key alone, which still parses: no
/// carrier key starts with <c>0xFF</c> (a due key starts below <c>0x80</c>, a waiting record's with <c>0xFE</c>).
/// </remarks>
public static class MarkerValue
{
    private const byte WithPrevious = 0xFF;
    private const int LengthBytes = sizeof(ushort);

    /// <summary>A marker naming <paramref name="next"/>, which replaces <paramref name="previous"/> (null: none).</summary>
    public static byte[] Encode(byte[] next, byte[]? previous)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (previous is null)
        {
            return next;
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(previous.Length, ushort.MaxValue, nameof(previous));
        var value = new byte[1 + LengthBytes + previous.Length + next.Length];
        value[0] = WithPrevious;
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(1), (ushort)previous.Length);
        previous.CopyTo(value, 1 + LengthBytes);
        next.CopyTo(value, 1 + LengthBytes + previous.Length);
        return value;
    }

    /// <summary>The next carrier's key and the previous one's (null: none) of a marker's <paramref name="value"/>.</summary>
    public static (byte[] Next, byte[]? Previous) Parse(byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0 || value[0] != WithPrevious)
        {
            return (value, null);
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(value.AsSpan(1));
        var start = 1 + LengthBytes;
        return (value[(start + length)..], value[start..(start + length)]);
    }
}
