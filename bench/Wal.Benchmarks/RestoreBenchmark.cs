using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Streams;

namespace Wal.Benchmarks;

/// <summary>
/// (c) Restoring a store from a 1,000,000-entry changelog: a task is assigned with an empty local store and must replay the whole
/// changelog before it runs. Timed from assignment to running, as the runtime logs it; start to running (group join included) is shown too.
/// </summary>
internal sealed class RestoreBenchmark : IRatioBenchmark
{
    private const int Entries = 1_000_000;
    private const string ApplicationId = "restore-bench";
    private const string Store = "state";

    // librdkafka's mock cluster keeps at most 5 MiB per partition, so the 1,000,000 entries (16-byte keys and values,
    // LZ4-compressed batches as a producer would send them) spread over 8 changelog partitions: 8 tasks restored by one thread.
    private const int Partitions = 8;

    public string Name => "streams-restore";

    public string Description => "restore a 1,000,000-entry changelog (8 partitions) into in-memory stores; target <= 10 s";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var changelog = $"{ApplicationId}-{Store}-changelog";
        cluster.CreateTopic("restore-in", Partitions);
        cluster.CreateTopic(changelog, Partitions);
        BenchKafka.Fill(cluster, changelog, Entries, keyBytes: 16, valueBytes: 16, compression: CompressionType.Lz4);
        var retained = BenchKafka.AssertRetained(cluster, changelog, Partitions);

        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.ByteArray, Deserializers.ByteArray, "restore-in")
            .AddProcessor("noop", () => new Noop(), "source")
            .AddStateStore(Stores.InMemoryKeyValueStore(Store), "noop")
            .Build();
        var config = new StreamsConfig
        {
            ApplicationId = ApplicationId,
            BootstrapServers = cluster.BootstrapServers,
            StateDirectory = Path.Combine(Path.GetTempPath(), "wal-bench", Guid.NewGuid().ToString("N")),
        };
        var logs = new RestoreLogCapture();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = Stopwatch.GetTimestamp();
        await using var streams = new KafkaStreams(topology, config, logs);
        streams.StateChanged += (_, e) =>
        {
            if (e.NewState == KafkaStreamsState.Running)
            {
                running.TrySetResult();
            }
        };
        await streams.StartAsync(cancellationToken);
        await running.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
        var total = Stopwatch.GetElapsedTime(started);
        await streams.CloseAsync(cancellationToken);

        var rawSeconds = await Task.Run(() => RawConsumeSeconds(cluster, changelog, retained), cancellationToken);
        var restoreSeconds = (logs.RestoreMilliseconds ?? throw new InvalidOperationException("The runtime did not log a finished restore.")) / 1000.0;
        return new BenchmarkReport(Name,
        [
            ("changelog entries", retained, "records"),
            ("changelog partitions (tasks)", Partitions, "partitions"),
            ("restore (assignment -> running)", restoreSeconds, "s"),
            ("restore rate", Entries / restoreSeconds, "records/s"),
            ("start -> running (group join included)", total.TotalSeconds, "s"),
            ("raw Confluent.Kafka consume of the changelog", rawSeconds, "s"),
            ("restore time / raw consume time", restoreSeconds / rawSeconds, "x"),
        ], "restore <= 10 s (in-memory store)", restoreSeconds <= 10);
    }

    /// <summary>How long a bare consumer takes to read the same changelog: the floor under any restore.</summary>
    private static double RawConsumeSeconds(EmbeddedKafkaCluster cluster, string topic, long count)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "raw-restore",
            EnableAutoCommit = false,
        }).Build();
        var started = Stopwatch.GetTimestamp();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        long read = 0;
        // A generous bound (the restore itself must take under 10 s): a changelog that lost records hangs no run.
        var deadline = started + (Stopwatch.Frequency * 120);
        while (read < count)
        {
            if (consumer.Consume(TimeSpan.FromSeconds(1)) is not null)
            {
                read++;
            }
            else if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"the raw consumer read {read} of the changelog's {count} records in 120 s");
            }
        }

        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private sealed class Noop : Processor<byte[], byte[], byte[], byte[]>
    {
        public override ValueTask ProcessAsync(Record<byte[], byte[]> record) => default;
    }

    /// <summary>Picks the elapsed time out of the runtime's "finished restoring" log event.</summary>
    private sealed class RestoreLogCapture : ILoggerFactory, ILogger
    {
        public long? RestoreMilliseconds { get; private set; }

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IReadOnlyList<KeyValuePair<string, object?>> fields
                && fields.FirstOrDefault(f => f.Key == "ElapsedMs").Value is long elapsed)
            {
                // Tasks restore side by side from one assignment: the slowest one is the restore time.
                RestoreMilliseconds = Math.Max(RestoreMilliseconds ?? 0, elapsed);
            }
        }

        public void Dispose()
        {
        }
    }
}
