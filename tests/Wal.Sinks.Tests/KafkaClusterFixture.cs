using Wal.Kafka.Embedded;

namespace Wal.Sinks.Tests;

/// <summary>A one-broker librdkafka mock cluster for one test class.</summary>
public sealed class KafkaClusterFixture : IDisposable
{
    public EmbeddedKafkaCluster Cluster { get; } = EmbeddedKafkaCluster.Start(brokerCount: 1);

    public void Dispose() => Cluster.Dispose();
}
