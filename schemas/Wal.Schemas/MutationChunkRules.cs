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
    /// Whether <paramref name="key"/> can name an item of <paramref name="defaultTarget"/>. A memcached key is text:
    /// decoding writes U+FFFD for each byte that is not UTF-8, so "k\xFF" and "k\xFE" would name one item and
    /// overwrite each other.
    /// </summary>
    public static bool KeyFits(ByteString key, Target? defaultTarget)
    {
        ArgumentNullException.ThrowIfNull(key);
        return defaultTarget?.DestinationCase != Target.DestinationOneofCase.Memcached || System.Text.Unicode.Utf8.IsValid(key.Span);
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
