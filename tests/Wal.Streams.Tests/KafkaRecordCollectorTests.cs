using System.Diagnostics;
using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

public sealed class KafkaRecordCollectorTests
{
    [Fact]
    public void Flush_LingerFarAboveTheStreamDefault_ReturnsWithoutWaitingForItAndAcknowledgesEachPartition()
    {
        using var cluster = EmbeddedKafkaCluster.Start(1);
        cluster.CreateTopic("store-changelog", 2);

        // 50 times the stream producer's linger: a flush that waited for it would take 5 s.
        var linger = StreamThread.ProducerLingerMs * 50;
        using var collector = new KafkaRecordCollector(
            new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
            {
                BootstrapServers = cluster.BootstrapServers,
                Acks = Acks.All,
                EnableIdempotence = true,
                LingerMs = linger,
                DeliveryReportFields = "none",
            }).Build(),
            transactional: false);
        var first = new TopicPartition("store-changelog", 0);
        var second = new TopicPartition("store-changelog", 1);
        collector.Send(first, "k"u8.ToArray(), "v"u8.ToArray(), timestamp: 1);
        collector.Flush();

        collector.Send(first, "k"u8.ToArray(), null, timestamp: 2);
        collector.Send(second, "j"u8.ToArray(), "w"u8.ToArray(), timestamp: 3);
        var flush = Stopwatch.StartNew();
        collector.Flush();

        Assert.True(flush.ElapsedMilliseconds < linger / 2, $"flush took {flush.ElapsedMilliseconds} ms with linger.ms={linger}");
        Assert.Equal(1, collector.AcknowledgedOffset(first));
        Assert.Equal(0, collector.AcknowledgedOffset(second));
    }
}
