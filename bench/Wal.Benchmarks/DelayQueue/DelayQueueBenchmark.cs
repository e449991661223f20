using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Streams;
using Wal.Topology;

namespace Wal.Benchmarks.DelayQueue;

/// <summary>
/// The delay queue through the real topology (KafkaStreams + WalTopology, RocksDB timer store,
/// changelog to the mock cluster, which runs in a child process so its memory is not ours):
/// schedule 1,000,000 timers due in an hour and time it, measure RSS with all of them pending,
/// then a stream of timers coming due at 20,000/s and their lateness at a counting sink. It passes only if every timer
/// reached the store (the topology's own count), none of the million fired, and none of the stream fired early.
/// </summary>
internal sealed class DelayQueueBenchmark : IRatioBenchmark
{
    private const string Namespace = "bench";
    private const string ApplicationId = "delay-bench";
    private const int Partitions = 3;
    private const int Pending = 1_000_000;
    private const int DueRate = 20_000;
    private const int DueCount = 200_000;

    public string Name => "delay-queue";

    public string Description => "1M pending timers: RSS <= 256 MB, scheduling >= 100k/s, p99 lateness <= 100 ms at 20k deliveries/s";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        var topic = $"wal.{Namespace}";
        using var kafka = await MockKafkaProcess.StartAsync(
            brokers: 1, [$"{topic}:{Partitions}", $"wal.{Namespace}.dlq:{Partitions}", $"{ApplicationId}-{WalTopology.TimerStoreName(Namespace)}-changelog:{Partitions}:compact"], cancellationToken);
        var bootstrap = kafka.BootstrapServers;
        var tick = Environment.GetEnvironmentVariable("WAL_BENCH_TIMER_TICK_MS") is { } tickMs
            ? TimeSpan.FromMilliseconds(double.Parse(tickMs, CultureInfo.InvariantCulture))
            : new WalTopologyOptions().TimerTick;
        var registry = new NamespaceRegistry([NamespaceDefaults.Resolve(new NamespaceConfig { Name = Namespace, Partitions = Partitions })]);
        var sink = new CountingSink(DueCount);
        using var timers = new TimerCounter();
        var stateDir = Path.Combine(Path.GetTempPath(), $"wal-delay-bench-{Guid.NewGuid():N}");
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap, LingerMs = 20, BatchSize = 1_000_000, QueueBufferingMaxMessages = 2_000_000, Acks = Acks.All,
        }).Build();
        var topology = WalTopology.Build(registry, sink, new WalTopologyOptions { TimerTick = tick });
        await using (var streams = new KafkaStreams(topology, new StreamsConfig
        {
            ApplicationId = ApplicationId,
            BootstrapServers = bootstrap,
            StateDirectory = stateDir,

            // The mock cluster answers a fetch that finds no data only after the full fetch.wait.max.ms (500 ms by
            // default) and does not wake for data produced meanwhile; a real broker answers as soon as data arrives.
            // Left at 500 ms, every time the topology caught up it idled half a second, and that, not the topology,
            // set the scheduling rate (~38k/s: two 10,000-record chunks in flight per ~0.5 s).
            AdditionalConsumerConfig = new Dictionary<string, string> { ["fetch.wait.max.ms"] = "5" },
        }))
        {
            await streams.StartAsync(cancellationToken);
            var sentinels = new Sentinels(producer, topic, sink);
            await sentinels.ProduceAndWaitAsync(cancellationToken);

            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var scheduling = Stopwatch.StartNew();
            var acceptedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await ProduceAsync(producer, topic, sentinels, Pending, i => new LogEntry { Id = $"p{i}", AcceptedAtMs = acceptedAt, Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromHours(1)) }, Payload = Due(0) }, cancellationToken);
            var scheduledPerSecond = Pending / scheduling.Elapsed.TotalSeconds;
            var schedulingCpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / Pending;
            var rssMb = RssAfterGcMegabytes();
            var scheduledPending = timers.Scheduled;

            // Lead time to take in all 200,000 before the first comes due, so lateness is the timer path's alone.
            var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 10_000;
            await ProduceAsync(producer, topic, sentinels, DueCount, i =>
            {
                var due = start + (i * 1_000L / DueRate);
                return new LogEntry { Id = $"d{i}", AcceptedAtMs = start - 10_000, Lifecycle = new Lifecycle { DeliverAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(due)) }, Payload = Due(due) };
            }, cancellationToken);
            var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 60);
            while (sink.Timed < DueCount && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }

            var deliveredPerSecond = sink.Timed / ((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - start) / 1000.0);
            var p99 = sink.LatenessQuantile(0.99);
            await streams.CloseAsync(cancellationToken);
            var allLanded = scheduledPending == Pending && timers.Scheduled == Pending + DueCount && timers.Fired == DueCount;
            return new BenchmarkReport(
                Name,
                [
                    ("timers scheduled (1M, through the changelog)", scheduledPerSecond, "timers/s"),
                    ("process CPU per scheduled timer (benchmark producer included)", schedulingCpuUs, "µs"),
                    ("timers in the store after scheduling (topology's count)", scheduledPending, "timers"),
                    ("RSS after GC, 1M pending", rssMb, "MB"),
                    ("timers due (20k/s stream) delivered", sink.Timed, "timers"),
                    ("delivery rate over the due window", deliveredPerSecond, "timers/s"),
                    ("lateness p50", sink.LatenessQuantile(0.5), "ms"),
                    ("lateness p99", p99, "ms"),
                    ("lateness max", sink.LatenessQuantile(1), "ms"),
                    ("lateness min (below 0: early)", sink.LatenessQuantile(0), "ms"),
                    ("timers fired before their due time", sink.Early, "timers"),
                    ("timers fired in all (topology's count; 200,000 expected)", timers.Fired, "timers"),
                    ("of the 1M pending, delivered during the run (0 expected)", sink.PendingDelivered, "timers"),
                    ("timer tick", tick.TotalMilliseconds, "ms"),
                ],
                "RSS <= 256 MB, scheduling >= 100,000/s, p99 lateness <= 100 ms; every timer stored, none early, the 1M still pending",
                rssMb <= 256 && scheduledPerSecond >= 100_000 && sink.Timed == DueCount && p99 <= 100
                    && allLanded && sink.Early == 0 && sink.PendingDelivered == 0);
        }
    }

    private static ByteString Due(long dueMs)
    {
        var bytes = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, dueMs);
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>
    /// Produces in chunks, each followed by sentinels, and keeps at most two chunks ahead of the
    /// topology: the mock cluster keeps only a bounded log per partition and would drop records a
    /// lagging consumer has not read yet.
    /// </summary>
    private static async Task ProduceAsync(IProducer<byte[], byte[]> producer, string topic, Sentinels sentinels, int count, Func<int, LogEntry> entry, CancellationToken cancellationToken)
    {
        const int Chunk = 10_000;
        for (var first = 0; first < count; first += Chunk)
        {
            for (var i = first; i < Math.Min(count, first + Chunk); i++)
            {
                var e = entry(i);
                e.Namespace = Namespace;
                Send(producer, topic, null, new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(e.Id), Value = e.ToByteArray() });
            }

            await sentinels.ProduceAndWaitAsync(cancellationToken, lag: 1);
        }

        await sentinels.ProduceAndWaitAsync(cancellationToken);
    }

    private static void Send(IProducer<byte[], byte[]> producer, string topic, int? partition, Message<byte[], byte[]> message)
    {
        while (true)
        {
            try
            {
                if (partition is { } p)
                {
                    producer.Produce(new TopicPartition(topic, new Partition(p)), message);
                }
                else
                {
                    producer.Produce(topic, message);
                }

                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(20));
            }
        }
    }

    /// <summary>Undelayed entries, one per partition; when a round arrives, everything produced before it has been processed.</summary>
    private sealed class Sentinels(IProducer<byte[], byte[]> producer, string topic, CountingSink sink)
    {
        private int _rounds;

        public async Task ProduceAndWaitAsync(CancellationToken cancellationToken, int lag = 0)
        {
            _rounds++;
            for (var p = 0; p < Partitions; p++)
            {
                var entry = new LogEntry { Id = $"s{_rounds}-{p}", Namespace = Namespace, AcceptedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Payload = ByteString.CopyFrom(1) };
                Send(producer, topic, p, new Message<byte[], byte[]> { Key = [], Value = entry.ToByteArray() });
            }

            producer.Poll(TimeSpan.Zero);
            if (lag == 0)
            {
                producer.Flush(cancellationToken);
            }

            var expected = (_rounds - lag) * Partitions;
            var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 300);
            while (sink.Sentinels < expected)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"only {sink.Sentinels} of {expected} sentinels arrived");
                }

                await Task.Delay(2, cancellationToken);
            }
        }
    }

    private static double RssAfterGcMegabytes()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
