using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>
/// A replicator copies each record with its timestamp. A local topic with broker-set timestamps (LogAppendTime, which the
/// mock cluster cannot make) gives records of that type, which a producer refuses outright.
/// </summary>
public sealed class CopiedTimestampTests
{
    private static readonly Timestamp BrokerSet = new(1_790_000_000_123, TimestampType.LogAppendTime);

    [Fact]
    public async Task RecordWithABrokerSetTimestamp_CopiedWithTheSameTimeAsACreateTime()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("copies", 1);
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();

        var report = await producer.ProduceAsync("copies", new Message<byte[], byte[]> { Value = [1], Timestamp = RegionReplicator.CopiedTimestamp(BrokerSet) });
        Assert.Equal(PersistenceStatus.Persisted, report.Status);

        // Read back: the mock's delivery report gives a placeholder append time, the stored record the time sent.
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = "reader" }).Build();
        consumer.Assign(new TopicPartitionOffset(report.TopicPartition, report.Offset));
        var copy = consumer.Consume(TimeSpan.FromSeconds(20));
        Assert.NotNull(copy);
        Assert.Equal((TimestampType.CreateTime, BrokerSet.UnixTimestampMs), (copy.Message.Timestamp.Type, copy.Message.Timestamp.UnixTimestampMs));
    }

    [Fact]
    public void RecordWithABrokerSetTimestamp_TheProducerRefusesItAsItIs()
    {
        // What the replicator met when it copied the timestamp as it was: not a failed delivery it could retry or
        // dead-letter, but an exception out of Produce.
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = "127.0.0.1:1" }).Build();

        var refused = Assert.Throws<ArgumentException>(() => producer.Produce("copies", new Message<byte[], byte[]> { Value = [1], Timestamp = BrokerSet }));

        Assert.Contains("Timestamp", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordWithoutATimestamp_CopiedWithoutOne() =>
        Assert.Equal(Timestamp.Default, RegionReplicator.CopiedTimestamp(new Timestamp(0, TimestampType.NotAvailable)));
}
