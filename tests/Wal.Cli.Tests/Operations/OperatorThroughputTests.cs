using System.Diagnostics;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Operations;

/// <summary>
/// A replay or a redrive writes one record at a time and waits for its acknowledgement before the next (that is what
/// lets it say where it stopped). Each such record must cost a round trip, not a round trip plus the producer's linger:
/// with 5 ms of linger a replay of a million entries took well over an hour and a half.
/// </summary>
public sealed class OperatorThroughputTests
{
    private const int Records = 2_000;
    // 5 ms of linger alone made 2,000 records take 10 s; a round trip each takes about 1 s here. The bound sits between.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(7);

    [Fact]
    public async Task Replay_ThousandsOfEntries_EachWaitsForItsAckNotForALinger()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("wal.t", partitions: 4);
        Fill(cluster, "wal.t", partitions: 4);
        var ns = new NamespaceConfig { Name = "t", Topic = "wal.t", DeadLetterTopic = "wal.t.dlq" };

        var watch = Stopwatch.StartNew();
        var result = await new LogReplayer(cluster.BootstrapServers).ReplayAsync(
            ns, Wal.Cli.Operations.LogPosition.Parse("0", out _)!, null, new HashSet<string>(), null, dryRun: false, null, CancellationToken.None);
        watch.Stop();

        Assert.Equal(Records, result.Written);
        Assert.True(watch.Elapsed < Bound, $"replaying {Records} entries took {watch.Elapsed}");
    }

    [Fact]
    public async Task Redrive_ThousandsOfDeadLetters_EachWaitsForItsAckNotForALinger()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("wal.t", partitions: 4);
        cluster.CreateTopic("wal.t.dlq", partitions: 4);
        Fill(cluster, "wal.t.dlq", partitions: 4);
        var ns = new NamespaceConfig { Name = "t", Topic = "wal.t", DeadLetterTopic = "wal.t.dlq" };

        var watch = Stopwatch.StartNew();
        var result = await new DeadLetterRedriver(cluster.BootstrapServers).RedriveAsync(ns, DeadLetterFilter.All, dryRun: false, null, null, CancellationToken.None);
        watch.Stop();

        Assert.Equal(Records, result.Redriven);
        Assert.True(watch.Elapsed < Bound, $"redriving {Records} dead letters took {watch.Elapsed}");
    }

    private static void Fill(EmbeddedKafkaCluster cluster, string topic, int partitions)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All }).Build();
        for (var i = 0; i < Records; i++)
        {
            var entry = new LogEntry { Id = $"t-{i}", Namespace = "t", AcceptedAtMs = 1_700_000_000_000, Payload = ByteString.CopyFromUtf8("x") };
            producer.Produce(new TopicPartition(topic, i % partitions), new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray() });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }
}
