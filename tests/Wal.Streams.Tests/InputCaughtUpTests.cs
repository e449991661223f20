using System.Collections.Concurrent;
using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Streams.State;

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

    [Fact]
    public async Task InputCaughtUp_AfterARestore_FalseUntilRecordsWrittenDuringTheRestoreAreRead()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        foreach (var topic in new[] { "restored-in", "probe", Changelog })
        {
            cluster.CreateTopic(topic, 1);
        }

        await KafkaTestKit.ProduceAsync(cluster, Changelog, [("k", "1")]);
        // The changelog loses its leader as its restore starts, so the restore waits until the test gives it back.
        var loggers = new RecordingLoggerFactory(line =>
        {
            if (line.Contains($"restores {Changelog}", StringComparison.Ordinal))
            {
                cluster.SetPartitionLeader(Changelog, 0, -1);
            }
        });

        var restored = new CaughtUpLog();
        var probe = new CaughtUpLog();
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "restored-in")
            .AddProcessor("restored", () => restored, "source")
            .AddStateStore(Stores.PersistentKeyValueStore("counts"), "restored")
            .AddSource("probe-source", Deserializers.Utf8, Deserializers.Utf8, "probe")
            .AddProcessor("probe", () => probe, "probe-source")
            .Build();
        // A long first poll: the input's end is reported in the poll that assigned it, before its pause.
        await using var streams = new KafkaStreams(topology, KafkaTestKit.Config(cluster, "restore-app") with { PollTimeout = TimeSpan.FromSeconds(10) }, loggers);
        await streams.StartAsync();

        // The probe's end comes in the same fetch as the restoring input's.
        await Eventually.WaitUntilAsync(() => probe.CaughtUpAfter >= 0, KafkaTestKit.Deadline, "the probe task to read to the end of its input");
        await KafkaTestKit.ProduceAsync(cluster, "restored-in", Enumerable.Range(0, WrittenDuringRestore).Select(i => ($"k{i}", "v")));
        Assert.False(restored.Initialized, "the restore ended before the records it should overlap were written");
        cluster.SetPartitionLeader(Changelog, 0, 1);
        await Eventually.WaitUntilAsync(
            () => restored.CaughtUpAfter == WrittenDuringRestore,
            KafkaTestKit.Deadline,
            $"a punctuation to see the restored task caught up after its records ({restored.Read} read)");
        await streams.CloseAsync();

        Assert.DoesNotContain(restored.Punctuations, p => p.CaughtUp && p.Read < WrittenDuringRestore);
    }

    [Fact]
    public async Task InputCaughtUp_ForATaskCreatedLate_TrueOnAnEmptyInputWithoutANewRecord()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("idle-in", 1);
        cluster.CreateTopic("late-app-counts-changelog", 1);
        var config = KafkaTestKit.Config(cluster, "late-app") with { PollTimeout = TimeSpan.FromSeconds(10) };
        var late = new CaughtUpLog();
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "idle-in")
            .AddProcessor("late", () => late, "source")
            .AddStateStore(Stores.PersistentKeyValueStore("counts"), "late")
            .Build();

        // The test holds the task's store, as another thread of the instance would: the task waits, and the
        // empty input's end comes in the long poll that assigned it, before the task exists.
        var held = new RocksDbKeyValueStore("counts", Path.Combine(config.StateDirectory, config.ApplicationId, "0_0", "rocksdb", "counts"));
        try
        {
            var loggers = new RecordingLoggerFactory();
            await using var streams = new KafkaStreams(topology, config, loggers);
            await streams.StartAsync();
            await Eventually.WaitUntilAsync(
                () => loggers.Lines.Any(l => l.Message.Contains("are still held by another thread", StringComparison.Ordinal)),
                KafkaTestKit.Deadline,
                "the task to wait for its store");
            held.Dispose();

            // The end it missed is not reported again by a record (none comes): librdkafka reports it again when
            // the task's partition resumes. Without that, an idle input left the task behind for good.
            await Eventually.WaitUntilAsync(
                () => late.CaughtUpAfter == 0,
                KafkaTestKit.Deadline,
                $"a punctuation to see the empty input caught up ({late.Punctuations.Count} punctuations, none caught up)");
            await streams.CloseAsync();
        }
        finally
        {
            held.Dispose();
        }
    }

    private const int WrittenDuringRestore = 5;
    private const string Changelog = "restore-app-counts-changelog";

    /// <summary>Each wall-clock punctuation's view: how many records were read and whether the input was caught up.</summary>
    private sealed class CaughtUpLog : Processor<string, string, string, string>
    {
        private int _read;
        private int _caughtUpAfter = -1;
        private volatile bool _initialized;

        public ConcurrentQueue<(int Read, bool CaughtUp)> Punctuations { get; } = new();

        public int Read => Volatile.Read(ref _read);

        public int CaughtUpAfter => Volatile.Read(ref _caughtUpAfter);

        public bool Initialized => _initialized;

        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            _initialized = true;
            context.Schedule(TimeSpan.FromMilliseconds(5), PunctuationType.WallClockTime, _ =>
            {
                var caughtUp = Context.InputCaughtUp;
                Punctuations.Enqueue((_read, caughtUp));
                if (caughtUp)
                {
                    Volatile.Write(ref _caughtUpAfter, _read);
                }

                return default;
            });
        }

        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            Interlocked.Increment(ref _read);
            return default;
        }
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
