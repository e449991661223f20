using Google.Protobuf;
using Wal.Schemas.V1;
using Wal.Streams;

namespace Wal.Topology.Mutations;

/// <summary>
/// Sends a namespace's mutation chunks and completion markers to the mutation processor and every
/// other record (plain writes, and records that are not log entries at all) to dispatch.
/// </summary>
/// <remarks>
/// It only walks the entry's top-level field tags, without materialising the entry, so the
/// dispatch path pays no second parse. A record that does not parse goes to dispatch, which
/// dead-letters it as a poison record.
/// </remarks>
public sealed class EntryRouter(string dispatchChild, string mutationChild) : Processor<byte[], byte[], byte[], byte[]>
{
    public override ValueTask ProcessAsync(Record<byte[], byte[]> record) =>
        Context.ForwardAsync(record, IsMutation(record.Value) ? mutationChild : dispatchChild);

    /// <summary>Whether <paramref name="value"/> is a log entry with a chunk or completion body.</summary>
    public static bool IsMutation(byte[]? value)
    {
        if (value is null || value.Length == 0)
        {
            return false;
        }

        // Walked over the span: a CodedInputStream per record was an allocation on every entry's path. Anything this
        // walk does not expect (groups, over-long varints, truncation) is left to the stream's stricter walk.
        var rest = new ReadOnlySpan<byte>(value);
        var mutation = false;
        while (!rest.IsEmpty)
        {
            if (!TryReadVarint32(ref rest, out var tag) || WireFormat.GetTagFieldNumber(tag) == 0 || !TrySkip(ref rest, WireFormat.GetTagWireType(tag)))
            {
                return IsMutationStrict(value);
            }

            mutation |= WireFormat.GetTagFieldNumber(tag) is LogEntry.ChunkFieldNumber or LogEntry.CompletionFieldNumber;
        }

        return mutation;
    }

    private static bool TrySkip(ref ReadOnlySpan<byte> rest, WireFormat.WireType type)
    {
        var length = type switch
        {
            WireFormat.WireType.Varint => SkipVarint(rest),
            WireFormat.WireType.Fixed64 => 8,
            WireFormat.WireType.Fixed32 => 4,
            WireFormat.WireType.LengthDelimited => TryReadVarint32(ref rest, out var size) && size <= int.MaxValue ? (int)size : -1,
            _ => -1,
        };
        if (length < 0 || length > rest.Length)
        {
            return false;
        }

        rest = rest[length..];
        return true;
    }

    /// <summary>The byte count of the varint at the start of <paramref name="bytes"/>, or -1 if there is none.</summary>
    private static int SkipVarint(ReadOnlySpan<byte> bytes)
    {
        for (var i = 0; i < Math.Min(bytes.Length, 10); i++)
        {
            if (bytes[i] < 0x80)
            {
                return i + 1;
            }
        }

        return -1;
    }

    private static bool TryReadVarint32(ref ReadOnlySpan<byte> bytes, out uint value)
    {
        value = 0;
        for (var i = 0; i < Math.Min(bytes.Length, 5); i++)
        {
            value |= (uint)(bytes[i] & 0x7F) << (7 * i);
            if (bytes[i] < 0x80)
            {
                bytes = bytes[(i + 1)..];
                return true;
            }
        }

        return false;
    }

    private static bool IsMutationStrict(byte[] value)
    {
        try
        {
            var input = new CodedInputStream(value);
            var mutation = false;
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                mutation |= WireFormat.GetTagFieldNumber(tag) is LogEntry.ChunkFieldNumber or LogEntry.CompletionFieldNumber;
                input.SkipLastField();
            }

            return mutation;
        }
        catch (InvalidProtocolBufferException)
        {
            // Not a log entry: dispatch dead-letters it.
        }

        return false;
    }
}
