using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Streams.TestDriver;
using Wal.Topology;

namespace Wal.Benchmarks;

/// <summary>
/// Multi-table mutations of 10 chunks each (over 5 tables) through the mutation processor into a
/// real memcached, against plain sets with our memcached client, in the same run on the same server.
/// </summary>
/// <remarks>
/// The processor runs on the <see cref="TopologyTestDriver"/>: every chunk and marker is parsed,
/// stored, checked and applied through the <see cref="MemcachedSink"/> exactly as on a stream
/// thread, without Kafka's polling in the measurement. The stores are in-memory because the driver
/// flushes its stores after every piped record, which with RocksDB measures that flush (about
/// 5 ms a record here) rather than the processor; a stream thread flushes once per commit interval. Both sides write one item at a
/// time (a task applies its chunks in order, one after another), so the raw side is sequential
/// awaited sets too. The sink's version guard costs a read (mg) before each write (ms).
/// </remarks>
internal sealed class MutationApplyBenchmark : IRatioBenchmark
{
    private const int ChunksPerMutation = 10;
    private const int Tables = 5;
    private const int Mutations = 1_000;
    private const int Warmup = 200;
    private const int ValueBytes = 100;

    public string Name => "mutation-apply";

    public string Description => "applied mutation chunks/s into memcached vs raw memcached sets/s (target ratio >= 0.5)";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        using var server = await MemcachedProcess.StartAsync(cancellationToken);
        var value = new byte[ValueBytes];
        Random.Shared.NextBytes(value);

        var raw = await MeasureRawSetsAsync(server.Server, value, cancellationToken);
        var applied = await MeasureMutationsAsync(server.Server, value, cancellationToken);
        var ratio = applied / raw;
        return new BenchmarkReport(
            Name,
            [
                ("raw memcached sets (sequential)", raw, "sets/s"),
                ($"mutation chunks applied ({ChunksPerMutation}/mutation)", applied, "chunks/s"),
                ("ratio", ratio, "x"),
            ],
            "applied chunks/s >= 0.5 x raw sets/s",
            ratio >= 0.5);
    }

    private static async Task<double> MeasureRawSetsAsync(string endpoint, byte[] value, CancellationToken cancellationToken)
    {
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [endpoint] });
        for (var i = 0; i < Warmup * ChunksPerMutation; i++)
        {
            await client.SetAsync($"raw-warm-{i}", value, cancellationToken: cancellationToken);
        }

        var total = Mutations * ChunksPerMutation;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            await client.SetAsync($"raw-{i}", value, cancellationToken: cancellationToken);
        }

        return total / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static async Task<double> MeasureMutationsAsync(string endpoint, byte[] value, CancellationToken cancellationToken)
    {
        var clusters = Enumerable.Range(0, Tables).ToDictionary(t => $"table-{t}", _ => new MemcachedClusterOptions { Servers = [endpoint] });
        await using var sink = new MemcachedSink(new MemcachedSinkOptions { Clusters = clusters });
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "bench",
            Personas = { Persona.MultiTableMutation },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "table-0" } },
            MutationExpiry = Duration.FromTimeSpan(TimeSpan.FromMinutes(10)),
        }]);
        var topology = WalTopology.Build(registry, sink, new WalTopologyOptions { PersistentStores = false });
        using var driver = new TopologyTestDriver(topology);
        var log = driver.CreateInputTopic("wal.bench", Serializers.ByteArray, Serializers.ByteArray);
        var mutations = Enumerable.Range(0, Warmup + Mutations).Select(m => Mutation($"m{m}", value)).ToList();

        foreach (var records in mutations.Take(Warmup))
        {
            await PipeAsync(log, records, cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        foreach (var records in mutations.Skip(Warmup))
        {
            await PipeAsync(log, records, cancellationToken);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        await CheckAppliedAsync(endpoint, cancellationToken);
        return Mutations * ChunksPerMutation / elapsed.TotalSeconds;
    }

    private static async Task PipeAsync(TestInputTopic<byte[], byte[]> log, List<(byte[] Key, byte[] Value)> records, CancellationToken cancellationToken)
    {
        foreach (var (key, value) in records)
        {
            await log.PipeInputAsync(key, value, cancellationToken: cancellationToken);
        }
    }

    /// <summary>The chunks of one mutation, the last two swapped so the processor really reorders, then its marker.</summary>
    private static List<(byte[] Key, byte[] Value)> Mutation(string requestId, byte[] value)
    {
        var key = Encoding.UTF8.GetBytes(requestId);
        var records = new List<(byte[] Key, byte[] Value)>();
        foreach (var sequence in Enumerable.Range(0, ChunksPerMutation).Select(s => s >= ChunksPerMutation - 2 ? (2 * ChunksPerMutation) - 3 - s : s))
        {
            var chunk = new MutationChunk
            {
                Namespace = "bench",
                RequestId = requestId,
                Sequence = (uint)sequence,
                Table = $"table-{sequence % Tables}",
                Put = new Put { Key = ByteString.CopyFromUtf8($"{requestId}-{sequence}"), Value = ByteString.CopyFrom(value) },
                Version = 1,
            };
            records.Add((key, new LogEntry { Id = $"{requestId}/{sequence}", Namespace = "bench", Chunk = chunk }.ToByteArray()));
        }

        var marker = new MutationCompletion { Namespace = "bench", RequestId = requestId, ChunkCount = ChunksPerMutation };
        records.Add((key, new LogEntry { Id = $"{requestId}/complete", Namespace = "bench", Completion = marker }.ToByteArray()));
        return records;
    }

    private static async Task CheckAppliedAsync(string endpoint, CancellationToken cancellationToken)
    {
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [endpoint] });
        var last = $"m{Warmup + Mutations - 1}-{ChunksPerMutation - 1}";
        if (await client.GetAsync(last, cancellationToken) is null)
        {
            throw new InvalidOperationException($"The last mutation's last chunk ({last}) never reached memcached: the figure would be meaningless.");
        }
    }
}
