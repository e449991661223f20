using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>
/// A restore whose position the changelog no longer holds (the topic truncated, recreated, or trimmed by retention while
/// the store was being restored): the store is wiped and restored from the changelog's beginning, as Kafka Streams does.
/// </summary>
public sealed class RestoreOutOfRangeTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private const int OffsetOutOfRange = 1;

    [Fact]
    public async Task Restore_FetchAnswersOffsetOutOfRange_StoreRestoredFromTheBeginningNotSkippedToTheEnd()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        const string app = "restore-range-app";
        KafkaStreamsTests.CreateTopics(cluster, app, partitions: 1);
        // The store's changelog says "k" was counted 5 times; there is no input yet.
        ProduceCounts(cluster, $"{app}-{CountingProcessor.StoreName}-changelog", "k", upTo: 5);
        // The first fetch is the restore consumer's: the group consumer fetches its input only after reading the group's
        // committed offsets, which the assignment that starts the restore precedes.
        cluster.PushRequestErrors(KafkaApi.Fetch, OffsetOutOfRange);
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, app), new TestOutputLoggerFactory(log));

        await streams.StartAsync();
        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Running || streams.FatalError is not null, "the instance to run");
        await KafkaTestKit.ProduceAsync(cluster, "in", [("k", "v")]);
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 1 || streams.FatalError is not null);

        Assert.Null(streams.FatalError);
        // Reset to the changelog's end instead, the store came out of its restore empty and counted 1.
        Assert.Equal(("k", 6L), (output.Single().Message.Key, output.Single().Message.Value));
    }

    private static void ProduceCounts(EmbeddedKafkaCluster cluster, string changelog, string key, int upTo)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        for (var count = 1L; count <= upTo; count++)
        {
            var value = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(value, count);
            producer.Produce(new TopicPartition(changelog, 0), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value });
        }

        producer.Flush(KafkaTestKit.Deadline);
    }
}
