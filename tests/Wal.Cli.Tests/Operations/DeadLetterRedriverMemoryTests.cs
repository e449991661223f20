using Confluent.Kafka;
using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;
using Wal.Topology.Dispatch;

namespace Wal.Cli.Tests.Operations;

/// <summary>
/// A redrive after a long outage meets as many dead letters as writes came in meanwhile. It reports each by id, partition,
/// offset, reason and error; it must not keep their entries (payload and all) until the end, or its memory grows with
/// the DLQ's size and a big enough one ends it, killed, part of the way through (800 dead letters of 64 KiB held 50 MiB
/// at the last one). What the run keeps is checked, not the process's memory, which the tests beside it move too.
/// </summary>
public sealed class DeadLetterRedriverMemoryTests
{
    private const int Letters = 40;
    private const int PayloadBytes = 64 * 1024;
    private const int Partitions = 4;

    [Fact]
    public async Task Redrive_ManyLargeDeadLetters_KeepsNoneOfTheirPayloads()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("wal.m", partitions: 2);
        cluster.CreateTopic("wal.m.dlq", Partitions);
        await ProduceDeadLettersAsync(cluster);
        var ns = new NamespaceConfig { Name = "m", Topic = "wal.m", DeadLetterTopic = "wal.m.dlq" };

        var result = await new DeadLetterRedriver(cluster.BootstrapServers).RedriveAsync(ns, DeadLetterFilter.All, dryRun: false, null, null, CancellationToken.None);

        Assert.True(result.Read == Letters, $"read {result.Read}, redriven {result.Redriven}, skipped {result.Skipped.Count}");
        Assert.Equal(Letters, result.Redriven);
        Assert.Equal(Letters, result.Matched.Count);
        Assert.All(result.Matched, letter =>
        {
            Assert.Null(letter.Entry);
            Assert.Null(letter.Carried);
            Assert.StartsWith("m-", letter.Id, StringComparison.Ordinal);
            Assert.Equal("retriable", letter.Reason);
        });
    }

    private static async Task ProduceDeadLettersAsync(EmbeddedKafkaCluster cluster)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, MessageMaxBytes = Wal.Topology.RecordLimits.ProducerMaxMessageBytes,
        }).Build();
        var payload = ByteString.CopyFrom(new byte[PayloadBytes]);
        for (var i = 0; i < Letters; i++)
        {
            var entry = new LogEntry { Id = $"m-{i}", Namespace = "m", AcceptedAtMs = 1_700_000_000_000, Payload = payload };
            var headers = new Headers
            {
                { DeadLetterHeaders.Reason, "retriable"u8.ToArray() },
                { DeadLetterHeaders.Error, "Could not connect to memcached"u8.ToArray() },
            };
            await producer.ProduceAsync(new TopicPartition("wal.m.dlq", i % Partitions), new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray(), Headers = headers });
        }
    }
}
