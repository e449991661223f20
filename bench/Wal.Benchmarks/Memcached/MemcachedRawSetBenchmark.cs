using System.Diagnostics;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;

namespace Wal.Benchmarks;

/// <summary>
/// Raw sets/s through our memcached client, and MemcachedSink deliveries/s (version-guarded:
/// a read and a compare-and-set each) against the same real memcached in the same run.
/// </summary>
internal sealed class MemcachedRawSetBenchmark : IRatioBenchmark
{
    public const int Operations = 200_000;
    public const int ValueSize = 200;
    public const int Concurrency = 64;
    private const int KeySpace = 50_000;
    private const double TargetRatio = 0.5;
    private const int Rounds = 3;

    public string Name => "memcached-raw-set";

    public string Description => $"MemcachedSink deliveries/s vs raw meta-protocol sets/s, same server; target ratio >= {TargetRatio}";

    /// <summary>
    /// Raw sets/s: <paramref name="operations"/> plain <c>ms</c> of <paramref name="valueSize"/>
    /// bytes from <paramref name="concurrency"/> concurrent callers on one client (pipelined
    /// connections), cycling over a fixed key space. The baseline other memcached benchmarks
    /// compare against.
    /// </summary>
    public static async Task<double> MeasureRawSetRateAsync(
        string server, int operations = Operations, int valueSize = ValueSize, int concurrency = Concurrency, CancellationToken cancellationToken = default)
    {
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [server] });
        var value = new byte[valueSize];
        Random.Shared.NextBytes(value);
        var keys = Keys("raw");
        await client.SetAsync(keys[0], value, cancellationToken: cancellationToken);
        return await RunAsync(operations, concurrency, i => client.SetAsync(keys[i % KeySpace], value, cancellationToken: cancellationToken), cancellationToken);
    }

    /// <summary>
    /// MemcachedSink deliveries/s under the same load shape through <paramref name="sink"/>, every
    /// delivery a newer version of its key in <paramref name="cluster"/>. A long-lived sink remembers
    /// what it wrote, so pass the same sink across rounds as a running service would.
    /// </summary>
    public static async Task<double> MeasureSinkDeliveryRateAsync(
        MemcachedSink sink, string cluster, int operations = Operations, int valueSize = ValueSize, int concurrency = Concurrency, CancellationToken cancellationToken = default)
    {
        var payload = new byte[valueSize];
        Random.Shared.NextBytes(payload);
        var targets = Keys("sink").Select(k => new Target { Memcached = new MemcachedTarget { Cluster = cluster, Key = k } }).ToArray();
        // Versions above any earlier round's, so every delivery is a newer version of its key.
        var baseVersion = Stopwatch.GetTimestamp();
        var failures = 0;
        var rate = await RunAsync(operations, concurrency, async i =>
        {
            var result = await sink.DeliverAsync(new Delivery("bench", targets[i % KeySpace], payload, baseVersion + i), cancellationToken);
            if (result.Outcome != DeliveryOutcome.Delivered)
            {
                Interlocked.Increment(ref failures);
            }
        }, cancellationToken);
        return failures == 0 ? rate : throw new InvalidOperationException($"{failures} sink deliveries did not succeed during the benchmark.");
    }

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        await using var memcached = await MemcachedProcess.StartAsync(memoryMegabytes: 512, threads: 2, cancellationToken: cancellationToken);
        await using var memcachedSink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions> { ["bench"] = new() { Servers = [memcached.Endpoint] } },
        });
        // Warm both paths (JIT, connections; every key written once) before measuring.
        await MeasureRawSetRateAsync(memcached.Endpoint, KeySpace, cancellationToken: cancellationToken);
        await MeasureSinkDeliveryRateAsync(memcachedSink, "bench", KeySpace, cancellationToken: cancellationToken);
        // Alternate the two and take medians: on a shared machine a burst of load elsewhere then
        // lands on one round of each instead of skewing the ratio.
        var getsBefore = await memcached.StatAsync("cmd_get", cancellationToken);
        var raws = new List<double>();
        var sinks = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            raws.Add(await MeasureRawSetRateAsync(memcached.Endpoint, cancellationToken: cancellationToken));
            sinks.Add(await MeasureSinkDeliveryRateAsync(memcachedSink, "bench", cancellationToken: cancellationToken));
        }

        // Raw rounds do no gets, so every get in the measured rounds is a sink's version read.
        var readsPerDelivery = (await memcached.StatAsync("cmd_get", cancellationToken) - getsBefore) / (double)(Rounds * Operations);
        var raw = Median(raws);
        var sink = Median(sinks);
        var ratio = sink / raw;
        return new BenchmarkReport(
            Name,
            [
                ($"raw memcached sets/s (median of {Rounds})", raw, "sets/s"),
                ($"MemcachedSink deliveries/s (median of {Rounds})", sink, "deliveries/s"),
                ("ratio sink / raw", ratio, "x"),
                ("sink version reads (mg) per delivery", readsPerDelivery, "mg"),
            ],
            $"ratio >= {TargetRatio} ({Operations:N0} ops of {ValueSize} B, {Concurrency} concurrent callers)",
            ratio >= TargetRatio);
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string[] Keys(string prefix) => [.. Enumerable.Range(0, KeySpace).Select(i => $"bench:{prefix}:{i}")];

    private static async Task<double> RunAsync(int operations, int concurrency, Func<int, Task> operation, CancellationToken cancellationToken)
    {
        var next = -1;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < operations)
            {
                await operation(i);
            }
        }, cancellationToken)));
        return operations / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }
}
