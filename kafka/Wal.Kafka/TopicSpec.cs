namespace Wal.Kafka;

/// <summary>A topic Wal needs.</summary>
/// <param name="Name">The topic.</param>
/// <param name="Partitions">Its partition count.</param>
/// <param name="Compacted">Whether it keeps only the latest value per key.</param>
/// <param name="ReplicationFactor">
/// Replicas of each partition; <see cref="BrokersDefault"/> (what Wal asks for) takes the brokers'
/// <c>default.replication.factor</c>, as their <c>min.insync.replicas</c> decides how many of them an acks=all write waits for.
/// </param>
/// <param name="Expires">
/// Whether the brokers' retention deletes its records; false keeps each until deleted by hand (retention.ms -1), for
/// records that are the only copy of what is still owed.
/// </param>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted = false, int ReplicationFactor = TopicSpec.BrokersDefault, bool Expires = true)
{
    /// <summary>The brokers' <c>default.replication.factor</c>: what the cluster's operator chose for its durability.</summary>
    public const int BrokersDefault = -1;
}
