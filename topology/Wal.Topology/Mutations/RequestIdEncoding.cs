using System.Text.Unicode;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Topology.Mutations;

/// <summary>
/// Whether a mutation piece's request id was valid UTF-8 as written. Protobuf reads a string's invalid bytes as U+FFFD
/// without an error, so ids that differ only in such bytes (written around the ingress, whose own parse replaces them
/// before it writes) read the same, and their mutations would share one chunk store and one progress.
/// </summary>
public static class RequestIdEncoding
{
    /// <summary>
    /// Whether the request ids in <paramref name="entry"/>'s chunk and completion fields are valid UTF-8. Only an id that
    /// reads with a U+FFFD can have been invalid, so callers check the parsed id first and walk the bytes only then.
    /// </summary>
    public static bool IsValid(byte[] entry)
    {
        var input = new CodedInputStream(entry);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var idField = WireFormat.GetTagFieldNumber(tag) switch
            {
                LogEntry.ChunkFieldNumber => MutationChunk.RequestIdFieldNumber,
                LogEntry.CompletionFieldNumber => MutationCompletion.RequestIdFieldNumber,
                _ => 0,
            };
            if (idField != 0 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                if (!IdsAreValid(input.ReadBytes(), idField))
                {
                    return false;
                }
            }
            else
            {
                input.SkipLastField();
            }
        }

        return true;
    }

    // Every occurrence: a string field given twice reads as the last, but a message field given twice is merged, and a
    // bad id anywhere may be the one read.
    private static bool IdsAreValid(ByteString body, int idField)
    {
        var input = body.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == idField && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                if (!Utf8.IsValid(input.ReadBytes().Span))
                {
                    return false;
                }
            }
            else
            {
                input.SkipLastField();
            }
        }

        return true;
    }
}
