using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Wal.Benchmarks.DelayQueue;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;
using Wal.Streams;
using Wal.Topology;

namespace Wal.Benchmarks.Mutations;

/// <summary>
/// Multi-table mutations of 10 chunks each (over 5 tables) through the real runtime — KafkaStreams
/// running <see cref="WalTopology"/> with its RocksDB stores and their changelogs on librdkafka's mock
/// cluster (in a child process), into a real memcached — against plain sets of the same values with
/// <see cref="MemcachedClient"/> on the same server, in the same run.
/// </summary>
/// <remarks>
/// Each round produces 1,000 mutations to the namespace's topic as the ingress writes them and is
/// timed from the first produce until the sink has confirmed every chunk; the raw side sets the same
/// 10,000 values one after another. Raw and mutation rounds alternate and the medians are compared,
/// so a burst of load elsewhere on this shared machine lands on one round of each. The target is
/// against that sequential writer, but the sink does not apply a mutation one chunk at a time: it
/// pipelines a mutation's chunks (<c>DeliverInOrderAsync</c>), so each round also times the raw sets
/// a mutation at a time, its ten at once, and prints that ratio beside the target's. The raw rate
/// with 64 concurrent callers is printed for context too: what memcached takes from a pipelining
/// client.
/// </remarks>
internal sealed class MutationApplyBenchmark : IRatioBenchmark
{
    private const string ApplicationId = "mutation-bench";
    private const int Partitions = 3;
    private const int Warmup = 200;
    private const int MutationsPerRound = 1_000;
    private const int Rounds = 3;
    private const int SampleEvery = 50;
    private const double TargetRatio = 0.5;
    private const int ChunksPerRound = MutationsPerRound * MutationLog.ChunksPerMutation;

    public string Name => "mutation-apply";

    public string Description => $"applied mutation chunks/s (KafkaStreams, RocksDB, mock Kafka) into memcached vs raw sequential sets/s (target ratio >= {TargetRatio})";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        var ns = NamespaceDefaults.Resolve(new NamespaceConfig
        {
            Name = MutationLog.Namespace,
            Partitions = Partitions,
            Personas = { Persona.MultiTableMutation },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = MutationLog.Table(0) } },
            MutationExpiry = Duration.FromTimeSpan(TimeSpan.FromMinutes(10)),
        });
        await using var memcached = await MemcachedProcess.StartAsync(memoryMegabytes: 512, threads: 2, cancellationToken: cancellationToken);
        using var kafka = await MockKafkaProcess.StartAsync(brokers: 1, [
            $"{ns.Topic}:{Partitions}",
            $"{ns.DeadLetterTopic}:{Partitions}",
            $"{Changelog(WalTopology.TimerStoreName(ns.Name))}:{Partitions}:compact",
            $"{Changelog(WalTopology.ChunkStoreName(ns.Name))}:{Partitions}:compact",
            $"{Changelog(WalTopology.MutationStoreName(ns.Name))}:{Partitions}:compact"], cancellationToken);
        var bootstrap = kafka.BootstrapServers;
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-mutation-bench-{Guid.NewGuid():N}");
        var clusters = Enumerable.Range(0, MutationLog.Tables).ToDictionary(MutationLog.Table, _ => new MemcachedClusterOptions { Servers = [memcached.Endpoint] });
        var sink = new DeliveryCountingSink(new MemcachedSink(new MemcachedSinkOptions { Clusters = clusters }));
        await using var raw = new MemcachedClient(new MemcachedClientOptions { Servers = [memcached.Endpoint] });
        var log = new MutationLog(bootstrap, ns.Topic);
        var registry = new NamespaceRegistry([ns]);
        var topology = WalTopology.Build(registry, sink, new WalTopologyOptions());
        try
        {
            var streams = new KafkaStreams(topology, new StreamsConfig { ApplicationId = ApplicationId, BootstrapServers = bootstrap, StateDirectory = stateDirectory });
            await using (streams)
            {
                await streams.StartAsync(cancellationToken);
                // Warm both paths (JIT, connections, the group's assignment, RocksDB) before measuring.
                await RawSetsAsync(raw, log, -1, Warmup, cancellationToken);
                await ApplyAsync(log, sink, kafka, 0, Warmup, cancellationToken);
                var raws = new List<double>();
                var rawCpu = new List<double>();
                var rawByMutation = new List<double>();
                var applied = new List<(double Rate, double SinkMicros, double CpuMicros, double KafkaCpuMicros)>();
                for (var round = 0; round < Rounds; round++)
                {
                    var (rawRate, rawCpuMicros) = await RawSetsAsync(raw, log, round, MutationsPerRound, cancellationToken);
                    raws.Add(rawRate);
                    rawCpu.Add(rawCpuMicros);
                    rawByMutation.Add(await RawSetsByMutationAsync(raw, log, round, MutationsPerRound, cancellationToken));
                    applied.Add(await ApplyAsync(log, sink, kafka, Warmup + (round * MutationsPerRound), MutationsPerRound, cancellationToken));
                }

                await streams.CloseAsync(cancellationToken);
                await VerifyAsync(raw, log, sink, cancellationToken);
                var pipelined = await MemcachedRawSetBenchmark.MeasureRawSetRateAsync(memcached.Endpoint, ChunksPerRound * Rounds, MutationLog.ValueBytes, cancellationToken: cancellationToken);
                return Report(Median(raws), Median(rawCpu), Median(rawByMutation), applied.OrderBy(a => a.Rate).ElementAt(applied.Count / 2), pipelined);
            }
        }
        finally
        {
            await sink.DisposeAsync();
            log.Dispose();
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    private BenchmarkReport Report(double raw, double rawCpu, double rawByMutation, (double Rate, double SinkMicros, double CpuMicros, double KafkaCpuMicros) applied, double pipelined) => new(
        Name,
        [
            ($"raw memcached sets, sequential (median of {Rounds})", raw, "sets/s"),
            ($"mutation chunks applied (median of {Rounds})", applied.Rate, "chunks/s"),
            ("ratio applied / raw", applied.Rate / raw, "x"),
            ("time per raw set", 1e6 / raw, "us"),
            ("time per applied chunk", 1e6 / applied.Rate, "us"),
            ("  of which in MemcachedSink (guarded write)", applied.SinkMicros, "us"),
            ("CPU per raw set (this process)", rawCpu, "us"),
            ("CPU per applied chunk (this process: producer, engine, sink)", applied.CpuMicros, "us"),
            ("CPU per applied chunk (mock Kafka process)", applied.KafkaCpuMicros, "us"),
            ($"raw memcached sets, a mutation's {MutationLog.ChunksPerMutation} at once (median of {Rounds})", rawByMutation, "sets/s"),
            ("ratio applied / raw a mutation at once (as the sink pipelines; no target)", applied.Rate / rawByMutation, "x"),
            ("context: raw sets, 64 concurrent callers", pipelined, "sets/s"),
            ("context: applied / 64-caller raw", applied.Rate / pipelined, "x"),
        ],
        $"applied chunks/s >= {TargetRatio} x raw sequential sets/s ({MutationsPerRound:N0} mutations of {MutationLog.ChunksPerMutation} chunks per round, {Partitions} partitions)",
        applied.Rate / raw >= TargetRatio);

    private static string Changelog(string store) => $"{ApplicationId}-{store}-changelog";

    /// <summary>Sets the values of <paramref name="mutations"/> mutations' chunks one at a time under their own keys; returns sets/s and this process's CPU µs per set.</summary>
    private static async Task<(double SetsPerSecond, double CpuMicrosPerSet)> RawSetsAsync(MemcachedClient client, MutationLog log, int round, int mutations, CancellationToken cancellationToken)
    {
        var items = new List<(string Key, byte[] Value)>(mutations * MutationLog.ChunksPerMutation);
        for (var m = 0; m < mutations; m++)
        {
            for (var s = 0; s < MutationLog.ChunksPerMutation; s++)
            {
                items.Add(($"raw-{round}-{MutationLog.ItemKey(m, s)}", log.Value(m, s)));
            }
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        foreach (var (key, value) in items)
        {
            await client.SetAsync(key, value, cancellationToken: cancellationToken);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        return (items.Count / elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / items.Count);
    }

    /// <summary>
    /// Sets the same values a mutation at a time, its chunks' sets sent together and awaited together: the round trips the
    /// sink's pipelined apply of a mutation makes, without the runtime. Returns sets/s.
    /// </summary>
    private static async Task<double> RawSetsByMutationAsync(MemcachedClient client, MutationLog log, int round, int mutations, CancellationToken cancellationToken)
    {
        var values = Enumerable.Range(0, mutations)
            .Select(m => Enumerable.Range(0, MutationLog.ChunksPerMutation).Select(s => ($"raw-m{round}-{MutationLog.ItemKey(m, s)}", log.Value(m, s))).ToArray())
            .ToArray();
        var started = Stopwatch.GetTimestamp();
        foreach (var mutation in values)
        {
            await Task.WhenAll(mutation.Select(item => client.SetAsync(item.Item1, item.Item2, cancellationToken: cancellationToken)));
        }

        return mutations * MutationLog.ChunksPerMutation / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>
    /// Produces <paramref name="count"/> mutations and waits until the sink confirmed all their chunks; returns chunks/s, the
    /// sink's time per chunk, and CPU µs per chunk of this process and of the mock Kafka process.
    /// </summary>
    private static async Task<(double Rate, double SinkMicros, double CpuMicros, double KafkaCpuMicros)> ApplyAsync(
        MutationLog log, DeliveryCountingSink sink, MockKafkaProcess kafka, int first, int count, CancellationToken cancellationToken)
    {
        var expected = sink.Delivered + (count * MutationLog.ChunksPerMutation);
        var inSink = sink.InSink;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var kafkaCpu = kafka.ProcessorTime;
        var started = Stopwatch.GetTimestamp();
        await log.ProduceAsync(first, count, cancellationToken);
        var deadline = started + (Stopwatch.Frequency * 300);
        while (sink.Delivered < expected)
        {
            if (sink.Failed > 0 || Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"mutations {first}..{first + count - 1}: {sink.Delivered} of {expected} chunks delivered, {sink.Failed} not delivered");
            }

            await Task.Delay(2, cancellationToken);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var chunks = count * MutationLog.ChunksPerMutation;
        return (
            chunks / elapsed.TotalSeconds,
            (sink.InSink - inSink).TotalMicroseconds / chunks,
            (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / chunks,
            (kafka.ProcessorTime - kafkaCpu).TotalMicroseconds / chunks);
    }

    /// <summary>
    /// Every chunk was delivered exactly once, and a sample of the items reads back from memcached
    /// as the chunk's value at its version: the figures would be meaningless otherwise.
    /// </summary>
    private static async Task VerifyAsync(MemcachedClient client, MutationLog log, DeliveryCountingSink sink, CancellationToken cancellationToken)
    {
        const int Total = Warmup + (Rounds * MutationsPerRound);
        if (sink.Delivered != Total * MutationLog.ChunksPerMutation || sink.Failed != 0)
        {
            throw new InvalidOperationException($"expected {Total * MutationLog.ChunksPerMutation} chunk deliveries, got {sink.Delivered} (and {sink.Failed} other outcomes)");
        }

        for (var m = SampleEvery - 1; m < Total; m += SampleEvery)
        {
            for (var s = 0; s < MutationLog.ChunksPerMutation; s++)
            {
                var item = await client.GetAsync(MutationLog.ItemKey(m, s), cancellationToken);
                if (item is null
                    || !VersionedValue.TryDecode(item.ClientFlags, item.Value, out var version, out var tombstone, out var payload)
                    || version != 1 || tombstone || !payload.Span.SequenceEqual(log.Value(m, s)))
                {
                    throw new InvalidOperationException($"memcached does not hold chunk {m}/{s} as written");
                }
            }
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
