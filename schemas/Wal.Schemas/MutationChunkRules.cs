using Google.Protobuf;

namespace Wal.Schemas.V1;

/// <summary>
/// What a <see cref="MutationChunk"/>'s key must be for its namespace's default target, and the target it is applied
/// to: part of the contract, so the ingress refuses a bad one at write time and the topology fails one written around
/// the ingress permanently.
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
    /// Why <paramref name="chunk"/>'s key cannot name an item of <paramref name="defaultTarget"/>, or null when it can.
    /// A memcached key is text: decoding writes U+FFFD for each byte that is not UTF-8, so "k\xFF" and "k\xFE" would
    /// name one item and overwrite each other. A Cassandra delete names its row by its key columns: a JSON object of
    /// at least one of them (the sink judges the columns themselves, as it does a put's row).
    /// </summary>
    public static string? KeyProblem(MutationChunk chunk, Target? defaultTarget)
    {
        var key = Key(chunk);
        return defaultTarget?.DestinationCase switch
        {
            Target.DestinationOneofCase.Memcached when !System.Text.Unicode.Utf8.IsValid(key.Span) =>
                "must be UTF-8: the namespace's default target is memcached, whose keys are text",
            Target.DestinationOneofCase.Cassandra when chunk.OperationCase == MutationChunk.OperationOneofCase.Delete && !IsObjectWithMembers(key) =>
                "must be a JSON object of the row's key columns: the namespace's default target is Cassandra, where a delete names its row by them",
            _ => null,
        };
    }

    private static bool IsObjectWithMembers(ByteString key)
    {
        try
        {
            // Not JsonNode: it throws other exceptions than JsonException for a name given twice or a lone surrogate.
            using var json = System.Text.Json.JsonDocument.Parse(key.Memory);
            return json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && json.RootElement.EnumerateObject().Any();
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>Whether a namespace's chunks can be applied to <paramref name="defaultTarget"/>: memcached, Cassandra or Kafka.</summary>
    public static bool CanApplyTo(Target? defaultTarget) =>
        defaultTarget?.DestinationCase is Target.DestinationOneofCase.Memcached or Target.DestinationOneofCase.Cassandra or Target.DestinationOneofCase.Kafka;

    /// <summary>
    /// The target <paramref name="chunk"/> is applied to: its namespace's default target with the chunk's table in the
    /// part a table stands for (a memcached cluster, a Cassandra table in the default's keyspace, a Kafka topic in the
    /// default's cluster) and its key. Null when no chunk can be applied to the default target (<see cref="CanApplyTo"/>).
    /// </summary>
    public static Target? TargetOf(MutationChunk chunk, Target? defaultTarget)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var key = Key(chunk);
        var isDelete = chunk.OperationCase == MutationChunk.OperationOneofCase.Delete;
        return defaultTarget?.DestinationCase switch
        {
            Target.DestinationOneofCase.Memcached => new Target
            {
                Memcached = new MemcachedTarget { Cluster = chunk.Table, Key = key.ToStringUtf8(), Ttl = defaultTarget.Memcached.Ttl, Delete = isDelete },
            },
            Target.DestinationOneofCase.Cassandra => new Target
            {
                Cassandra = new CassandraTarget { Cluster = defaultTarget.Cassandra.Cluster, Keyspace = defaultTarget.Cassandra.Keyspace, Table = chunk.Table },
            },
            Target.DestinationOneofCase.Kafka => new Target
            {
                Kafka = new KafkaTarget { Cluster = defaultTarget.Kafka.Cluster, Topic = chunk.Table, Key = key, Delete = isDelete },
            },
            _ => null,
        };
    }
}
