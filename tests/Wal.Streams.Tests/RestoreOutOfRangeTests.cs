using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka.Embedded;
using Wal.Streams.Internals;

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

    [Fact]
    public void Restore_OutOfRangeReportedForAChangelogWhoseTaskClosed_IgnoredAndTheOtherTasksRestore()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        const string app = "restore-range-closed-app";
        var changelog = $"{app}-{CountingProcessor.StoreName}-changelog";
        cluster.CreateTopic(changelog, partitions: 2);
        ProduceCounts(cluster, changelog, "k", upTo: 5, partition: 0);
        ProduceCounts(cluster, changelog, "k", upTo: 3, partition: 1);
        var stopped = new ManualResetEventSlim();
        var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = app + "-restore",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Error,
            Debug = "topic",
        })
        // librdkafka logs from its own threads: the partition stops fetching right after it queued the error.
        .SetLogHandler((_, m) =>
        {
            if (m.Message.Contains($"{changelog} [0] changed fetch state active -> none", StringComparison.Ordinal))
            {
                stopped.Set();
            }
        })
        .Build();
        var stateDirectory = Path.Combine(Path.GetTempPath(), "wal-range-tests", Guid.NewGuid().ToString("N"));
        var config = new StreamsConfig { ApplicationId = app, BootstrapServers = cluster.BootstrapServers, StateDirectory = stateDirectory };
        var subtopology = CountingProcessor.Topology("in", "out").Subtopologies.Single();
        var tasks = Enumerable.Range(0, 2).Select(p => new StreamTask(
            new TaskId(0, p), subtopology, new HashSet<TopicPartition> { new("in", p) }, config, TimeProvider.System, new NoOutputCollector(), NullLogger.Instance)).ToList();
        try
        {
            using var reader = new ChangelogReader(consumer, NullLogger.Instance);
            cluster.PushRequestErrors(KafkaApi.Fetch, OffsetOutOfRange);
            Assert.False(reader.Register(tasks[0]));
            Assert.True(stopped.Wait(KafkaTestKit.Deadline), "the restore consumer to get the out-of-range answer");
            // Closed (its partitions revoked) before the reader took the error: the error is still on its way.
            reader.Unregister(tasks[0]);
            Assert.False(reader.Register(tasks[1]));

            var completed = new List<StreamTask>();
            var deadline = DateTime.UtcNow + KafkaTestKit.Deadline;
            while (!completed.Contains(tasks[1]))
            {
                Assert.True(DateTime.UtcNow < deadline, "the second task's restore made no progress before the deadline");
                completed.AddRange(reader.Restore(max: 50, TimeSpan.FromMilliseconds(100)));
            }

            Assert.Equal(3L, CountingProcessor.Read(tasks[1].State.Entries.Single().Inner.Get(Encoding.UTF8.GetBytes("k"))));
        }
        finally
        {
            foreach (var task in tasks)
            {
                task.State.Close();
            }

            if (Directory.Exists(stateDirectory))
            {
                Directory.Delete(stateDirectory, recursive: true);
            }
        }
    }

    private static void ProduceCounts(EmbeddedKafkaCluster cluster, string changelog, string key, int upTo, int partition = 0)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        for (var count = 1L; count <= upTo; count++)
        {
            var value = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(value, count);
            producer.Produce(new TopicPartition(changelog, partition), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value });
        }

        producer.Flush(KafkaTestKit.Deadline);
    }
}
