using Google.Protobuf;

namespace Wal.Schemas.V1;

/// <summary>
/// What a <see cref="MutationChunk"/>'s key must be for its namespace's default target: part of the contract, so the
/// ingress refuses a bad one at write time and the topology fails one written around the ingress permanently.
/// </summary>
public static class MutationChunkRules
{
    /// <summary>The key of the chunk's put or delete; empty when it has neither.</summary>
    public static ByteString Key(MutationChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return chunk.OperationCase switch
        {
            MutationChunk.OperationOneofCase.Put => chunk.Put.Key,
            MutationChunk.OperationOneofCase.Delete => chunk.Delete.Key,
            _ => ByteString.Empty,
        };
    }

    /// <summary>
    /// Whether <paramref name="key"/> can name an item of <paramref name="defaultTarget"/>. A memcached key is text:
    /// decoding writes U+FFFD for each byte that is not UTF-8, so "k\xFF" and "k\xFE" would name one item and
    /// overwrite each other.
    /// </summary>
    public static bool KeyFits(ByteString key, Target? defaultTarget)
    {
        ArgumentNullException.ThrowIfNull(key);
        return defaultTarget?.DestinationCase != Target.DestinationOneofCase.Memcached || System.Text.Unicode.Utf8.IsValid(key.Span);
    }
}
