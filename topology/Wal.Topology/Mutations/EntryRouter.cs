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
