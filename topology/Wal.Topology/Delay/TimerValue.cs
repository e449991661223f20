using Google.Protobuf;
using Wal.Topology.State;

namespace Wal.Topology.Delay;

/// <summary>The stored value of a pending timer: a serialized <see cref="PendingDelivery"/>.</summary>
public static class TimerValue
{
    /// <summary>
    /// A <see cref="PendingDelivery"/> whose entry is <paramref name="entryBytes"/> (a serialized
    /// LogEntry, used as it is) and whose other fields are those of <paramref name="withoutEntry"/>.
    /// Protobuf's wire format lets a message field be written from its bytes, so the entry just
    /// parsed from the input record is not serialized a second time on the scheduling path.
    /// </summary>
    public static byte[] Compose(ReadOnlySpan<byte> entryBytes, PendingDelivery withoutEntry)
    {
        ArgumentNullException.ThrowIfNull(withoutEntry);
        if (withoutEntry.Entry is not null)
        {
            throw new ArgumentException("The entry comes from entryBytes; withoutEntry must not carry one.", nameof(withoutEntry));
        }

        var tag = WireFormat.MakeTag(PendingDelivery.EntryFieldNumber, WireFormat.WireType.LengthDelimited);
        var header = CodedOutputStream.ComputeRawVarint32Size(tag) + CodedOutputStream.ComputeLengthSize(entryBytes.Length);
        var value = new byte[header + entryBytes.Length + withoutEntry.CalculateSize()];

        // Tag and length written by hand: a CodedOutputStream for these few bytes was an allocation per timer.
        var written = WriteVarint(value, tag);
        written += WriteVarint(value.AsSpan(written), (uint)entryBytes.Length);
        entryBytes.CopyTo(value.AsSpan(written));
        withoutEntry.WriteTo(value.AsSpan(written + entryBytes.Length));
        return value;
    }

    /// <summary>
    /// Parses a stored timer. Its entry sits one level deeper than in the log record it came from, so an entry that
    /// just passed a top-level parse (nested to protobuf's default limit of 100, e.g. unknown groups in a request's
    /// target, which the ingress keeps) fails the same limit here: thrown in the punctuator, it failed the stream
    /// thread, and again after every restart, since the timer comes back from the changelog. Such a timer is read
    /// with one more level allowed (the slow path, taken only after the fast one refused it).
    /// </summary>
    public static PendingDelivery Parse(ReadOnlySpan<byte> value)
    {
        try
        {
            return PendingDelivery.Parser.ParseFrom(value);
        }
        catch (InvalidProtocolBufferException)
        {
            using var stream = new MemoryStream(value.ToArray(), writable: false);
            using var input = CodedInputStream.CreateWithLimits(stream, int.MaxValue, EntryRecursionLimit + 1);
            return PendingDelivery.Parser.ParseFrom(input);
        }
    }

    // Protobuf's default recursion limit, which every parse of a log entry uses.
    private const int EntryRecursionLimit = 100;

    private static int WriteVarint(Span<byte> destination, uint value)
    {
        var i = 0;
        for (; value >= 0x80; value >>= 7)
        {
            destination[i++] = (byte)(value | 0x80);
        }

        destination[i++] = (byte)value;
        return i;
    }
}
