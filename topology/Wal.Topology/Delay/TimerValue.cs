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

        var entryField = CodedOutputStream.ComputeTagSize(PendingDelivery.EntryFieldNumber)
            + CodedOutputStream.ComputeLengthSize(entryBytes.Length)
            + entryBytes.Length;
        var value = new byte[entryField + withoutEntry.CalculateSize()];
        var output = new CodedOutputStream(value);
        output.WriteTag(PendingDelivery.EntryFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteLength(entryBytes.Length);
        output.Flush();
        entryBytes.CopyTo(value.AsSpan(entryField - entryBytes.Length));
        withoutEntry.WriteTo(value.AsSpan(entryField));
        return value;
    }
}
