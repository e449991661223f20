using Google.Protobuf;
using Wal.Schemas.V1;
using Wal.Sinks;

namespace Wal.Topology.Mutations;

/// <summary>
/// Turns a mutation chunk into what a sink delivers. A chunk names only a table, so the
/// namespace's default target decides the kind of sink, and the chunk's table fills in the part of
/// that target a table stands for:
/// <list type="bullet">
/// <item>memcached: the table is the cluster; the cache key is the put/delete key as UTF-8; the
/// default target's TTL applies; a delete writes the sink's version-guarded tombstone.</item>
/// <item>Cassandra: the table is a table in the default target's cluster and keyspace; a put's value
/// is the JSON row (key columns included), a delete's key is the JSON object of the key columns,
/// sent as <c>{"$delete": true, ...}</c>.</item>
/// <item>Kafka: the table is the topic in the default target's cluster; the record key is the
/// chunk's key, the value the put's value; a delete writes the key's tombstone (no value), which a compacted topic
/// drops the key for.</item>
/// </list>
/// The version is the chunk's own, so re-applying a chunk after a failed attempt is a no-op at a
/// version-guarded sink, and an older mutation never overwrites a newer one's item.
/// </summary>
public static class ChunkDelivery
{
    public static string Id(MutationChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return $"{chunk.RequestId}/{chunk.Sequence}";
    }

    /// <summary>The delivery for <paramref name="chunk"/>, or null with the reason it has none.</summary>
    public static Delivery? From(MutationChunk chunk, Target? defaultTarget, out string? error)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        error = null;
        var isDelete = chunk.OperationCase == MutationChunk.OperationOneofCase.Delete;
        var key = MutationChunkRules.Key(chunk);
        var value = isDelete ? ReadOnlyMemory<byte>.Empty : chunk.Put?.Value.Memory ?? ReadOnlyMemory<byte>.Empty;
        if (chunk.OperationCase == MutationChunk.OperationOneofCase.None)
        {
            error = $"chunk {Id(chunk)} has neither a put nor a delete";
            return null;
        }

        if (MutationChunkRules.KeyProblem(chunk, defaultTarget) is { } problem)
        {
            error = $"chunk {Id(chunk)}'s key {problem}";
            return null;
        }

        var target = MutationChunkRules.TargetOf(chunk, defaultTarget);
        if (target is null)
        {
            error = $"multi-table mutations need a memcached, Cassandra or Kafka default target; the namespace's is {defaultTarget?.DestinationCase.ToString() ?? "not set"}";
            return null;
        }

        if (isDelete && target.DestinationCase == Target.DestinationOneofCase.Cassandra)
        {
            value = CassandraDelete(key);
        }

        return new Delivery(Id(chunk), target, value, chunk.Version);
    }

    // The key's own text with the delete marker put first inside its object (KeyProblem made sure it is one, with
    // members): not rebuilt, so only the sink judges the columns (a name given twice, an empty one) and refuses such a
    // chunk permanently. Rebuilding it threw for those, out of the processor, and stopped the stream thread.
    private static byte[] CassandraDelete(ByteString key)
    {
        var text = key.Span;
        var open = text.IndexOf((byte)'{') + 1;
        return [.. text[..open], .. DeleteMarker, .. text[open..]];
    }

    private static ReadOnlySpan<byte> DeleteMarker => "\"$delete\":true,"u8;
}
