namespace Wal.Kafka;

/// <summary>A topic Wal needs.</summary>
/// <param name="Name">The topic.</param>
/// <param name="Partitions">Its partition count.</param>
/// <param name="Compacted">Whether it keeps only the latest value per key.</param>
/// <param name="ReplicationFactor">
/// Replicas of each partition; <see cref="BrokersDefault"/> (what Wal asks for) takes the brokers'
/// <c>default.replication.factor</c>, as their <c>min.insync.replicas</c> decides how many of them an acks=all write waits for.
/// </param>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted = false, int ReplicationFactor = TopicSpec.BrokersDefault)
{
    /// <summary>The brokers' <c>default.replication.factor</c>: what the cluster's operator chose for its durability.</summary>
    public const int BrokersDefault = -1;
}
