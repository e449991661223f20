using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>A processor slower than fetching: the backlog stays in Kafka, and nothing is lost or repeated on the way.</summary>
public sealed class InputBufferTests
{
    [Fact]
    public async Task SlowProcessor_BufferStaysBounded_AndEveryRecordIsProcessedOnceInOrder()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 1);
        const int count = 600;
        await KafkaTestKit.ProduceAsync(cluster, "in", Enumerable.Range(0, count).Select(i => ("k", $"v{i}")));
        // Polls take up to 20 records a pass; a pass processes only what 5 ms allow.
        var config = KafkaTestKit.Config(cluster, "buffer-app") with
        {
            MaxBatchPerTask = 20,
            MaxBufferedPerTask = 40,
            MaxTaskTimePerIteration = TimeSpan.FromMilliseconds(5),
        };
        var seen = new List<string>();
        var maxBuffered = 0;
        KafkaStreams? streams = null;
        var topology = new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, "in")
            .AddProcessor("slow", () => new SlowProcessor(value =>
            {
                // On the stream thread, the one that owns the buffers.
                lock (seen)
                {
                    seen.Add(value);
                }

                maxBuffered = Math.Max(maxBuffered, streams!.Threads.Sum(t => t.Buffered));
            }), "source")
            .Build();
        streams = new KafkaStreams(topology, config);
        await using (streams)
        {
            await streams.StartAsync();
            await KafkaTestKit.WaitForAsync(() => { lock (seen) { return seen.Count >= count; } }, $"{count} records processed", TimeSpan.FromSeconds(60));
            await streams.CloseAsync();
        }

        // Paused at 40 after a pass; one poll may have added up to 20 before that.
        Assert.True(maxBuffered <= config.MaxBufferedPerTask + config.MaxBatchPerTask, $"{maxBuffered} records were buffered in the task");
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"v{i}"), seen);
    }

    [Fact]
    public async Task PausedTasksRevokedByARebalance_TheirPartitionsFlowAgainUnderTheNewTasks()
    {
        // librdkafka keeps an application's pause through a rebalance: a partition revoked while its
        // task's buffer was full, and assigned back, stayed paused under the new task for good.
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 2);
        const int count = 300;
        await KafkaTestKit.ProduceAsync(cluster, "in", Enumerable.Range(0, count).Select(i => ($"k{i % 30}", $"v{i}")));
        StreamsConfig Config() => KafkaTestKit.Config(cluster, "resume-app") with
        {
            MaxBatchPerTask = 20,
            MaxBufferedPerTask = 2,
            MaxTaskTimePerIteration = TimeSpan.FromMilliseconds(5),
        };
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        Topology Topology() => new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, "in")
            .AddProcessor("slow", () => new SlowProcessor(value => seen[value] = true), "source")
            .Build();
        await using var first = new KafkaStreams(Topology(), Config());
        await first.StartAsync();
        await KafkaTestKit.WaitForAsync(() => seen.Count >= 40, "the first instance to be under way");

        // Every pass leaves more than one record buffered, so its tasks are paused when the second
        // instance's arrival revokes them (eagerly: all of them), and it gets one partition back.
        await using var second = new KafkaStreams(Topology(), Config());
        await second.StartAsync();

        await KafkaTestKit.WaitForAsync(() => seen.Count == count, $"all {count} records processed", TimeSpan.FromSeconds(60));
    }

    private sealed class SlowProcessor(Action<string> onRecord) : Processor<string, string, string, string>
    {
        public override async ValueTask ProcessAsync(Record<string, string> record)
        {
            onRecord(record.Value);
            await Task.Delay(1);
        }
    }
}
