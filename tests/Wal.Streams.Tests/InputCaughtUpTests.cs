using System.Collections.Concurrent;
using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary><see cref="IProcessorContext{K,V}.InputCaughtUp"/> in a running <see cref="KafkaStreams"/>: false while a backlog is read, true once it is.</summary>
public sealed class InputCaughtUpTests
{
    private const int Backlog = 200;

    [Fact]
    public async Task InputCaughtUp_FalseWhileTheBacklogIsRead_TrueOnceItIs_AndAgainAfterANewRecord()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("backlog-in", 1);
        await KafkaTestKit.ProduceAsync(cluster, "backlog-in", Enumerable.Range(0, Backlog).Select(i => ($"k{i}", $"v{i}")));
        var watcher = new Watcher();
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "backlog-in")
            .AddProcessor("watch", () => watcher, "source")
            .Build();

        // A few records per pass: the end of the input comes after many passes.
        await using var streams = new KafkaStreams(topology, KafkaTestKit.Config(cluster, "caught-up-app") with { MaxBatchPerTask = 10 });
        await streams.StartAsync();
        await Eventually.WaitUntilAsync(
            () => watcher.Seen.Count == Backlog && watcher.CaughtUpAfter == Backlog,
            KafkaTestKit.Deadline,
            $"a punctuation after the backlog to see the input caught up ({watcher.Seen.Count} of {Backlog} records read)");
        await KafkaTestKit.ProduceAsync(cluster, "backlog-in", [("new", "v")]);
        await Eventually.WaitUntilAsync(
            () => watcher.Seen.Count == Backlog + 1 && watcher.CaughtUpAfter == Backlog + 1,
            KafkaTestKit.Deadline,
            "a punctuation after the new record to see the input caught up again");
        await streams.CloseAsync();

        var seen = watcher.Seen.OrderBy(s => s.Index).Select(s => s.CaughtUp).ToList();
        // Every record of the backlog came with more behind it (the consumer reports the end only after the last one).
        Assert.DoesNotContain(true, seen.Take(Backlog - 10));
    }

    private sealed class Watcher : Processor<string, string, string, string>
    {
        private int _index;

        public ConcurrentQueue<(int Index, bool CaughtUp)> Seen { get; } = new();

        private int _caughtUpAfter = -1;

        /// <summary>How many records had been read when a punctuation last saw the input caught up.</summary>
        public int CaughtUpAfter => Volatile.Read(ref _caughtUpAfter);

        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            context.Schedule(TimeSpan.FromMilliseconds(5), PunctuationType.WallClockTime, _ =>
            {
                if (Context.InputCaughtUp)
                {
                    Volatile.Write(ref _caughtUpAfter, _index);
                }

                return default;
            });
        }

        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            Seen.Enqueue((_index++, Context.InputCaughtUp));
            return default;
        }
    }
}
