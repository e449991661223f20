using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;
using Wal.Streams.TestDriver;

namespace Wal.Topology.Tests;

/// <summary>
/// A mutation's chunk attempts on <c>wal.topology.deliveries</c>, applied through the real memcached sink to the
/// real server (or to a port nothing listens on), on the test driver's manual clock.
/// </summary>
public sealed class MutationDeliveryMetricsTests : IAsyncLifetime
{
    private const string Ns = "metered";
    private const string Table = "table";
    private const string Deliveries = "wal.topology.deliveries";
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(100);
    private readonly RecordedMetrics _recorded = new();
    private readonly string _keyPrefix = Guid.NewGuid().ToString("N") + "-";
    private MemcachedProcess? _memcached;

    private MemcachedProcess Memcached => _memcached ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public async Task InitializeAsync() => _memcached = await MemcachedProcess.StartAsync(threads: 2);

    public async Task DisposeAsync()
    {
        _recorded.Dispose();
        if (_memcached is not null)
        {
            await _memcached.DisposeAsync();
        }
    }

    [Fact]
    public async Task Apply_MutationToRunningMemcached_CountsEachChunkDelivered()
    {
        await using var sink = SinkOn(Memcached.Endpoint);
        using var topology = new Topology(sink, _recorded);

        await topology.MutationAsync("m1", _keyPrefix, versions: [1000, 1001, 1002]);

        Assert.Empty(topology.DeadLetters.ReadRecordsToList());
        Assert.Equal("value-2", await ReadAsync(_keyPrefix + "key-2"));
        Assert.Equal(["namespace=metered,outcome=delivered,sink=memcached"], _recorded.TagSets(Deliveries));
        Assert.Equal(3, _recorded.Sum(Deliveries));
        // One latency per counted attempt; the manual clock stood still while memcached answered.
        Assert.Equal([0.0, 0.0, 0.0], _recorded.Values("wal.topology.delivery.latency", ("namespace", Ns), ("sink", "memcached")));
    }

    [Fact]
    public async Task Apply_ChunkOlderThanTheStoredItem_CountsItSuperseded()
    {
        await using var sink = SinkOn(Memcached.Endpoint);
        using var topology = new Topology(sink, _recorded);
        var newer = new Target { Memcached = new MemcachedTarget { Cluster = Table, Key = _keyPrefix + "key-1" } };
        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(new Delivery("newer", newer, "newer"u8.ToArray(), 5000))).Outcome);

        await topology.MutationAsync("m2", _keyPrefix, versions: [1000, 1001]);

        Assert.Equal("newer", await ReadAsync(_keyPrefix + "key-1"));
        Assert.Equal(1, _recorded.Sum(Deliveries, ("namespace", Ns), ("sink", "memcached"), ("outcome", "delivered")));
        Assert.Equal(1, _recorded.Sum(Deliveries, ("namespace", Ns), ("sink", "memcached"), ("outcome", "superseded")));
    }

    [Fact]
    public async Task Apply_MemcachedNotListening_CountsEachRetryThenTheChunkDeadLettered()
    {
        await using var sink = SinkOn($"127.0.0.1:{LoopbackPort.Free()}");
        using var topology = new Topology(sink, _recorded);

        await topology.MutationAsync("m3", _keyPrefix, versions: [1000, 1001]);
        Assert.Equal(1, _recorded.Sum(Deliveries, ("outcome", "retried")));
        await topology.AdvanceAsync(Backoff);
        await topology.AdvanceAsync(Backoff);

        Assert.Single(topology.DeadLetters.ReadRecordsToList());
        Assert.Equal(["namespace=metered,reason=retriable"], _recorded.TagSets("wal.topology.dead_letters"));
        // Each attempt stopped at chunk 0; chunk 1 was never answered, so it counts nothing.
        Assert.Equal(2, _recorded.Sum(Deliveries, ("namespace", Ns), ("sink", "memcached"), ("outcome", "retried")));
        Assert.Equal(1, _recorded.Sum(Deliveries, ("namespace", Ns), ("sink", "memcached"), ("outcome", "dead_lettered")));
        Assert.Equal(0, _recorded.Sum(Deliveries, ("outcome", "delivered")));
        // The retries were due at their timers, and fired on them at once.
        Assert.Equal([0.0, 0.0, 0.0], _recorded.Values("wal.topology.delivery.latency"));
    }

    [Fact]
    public async Task Apply_MemcachedBackBeforeTheLastAttempt_CountsTheRetryThenEachChunkDelivered()
    {
        var port = Memcached.Port;
        await Memcached.DisposeAsync();
        _memcached = null;
        await using var sink = SinkOn($"127.0.0.1:{port}");
        using var topology = new Topology(sink, _recorded);

        await topology.MutationAsync("m4", _keyPrefix, versions: [1000, 1001]);
        _memcached = await MemcachedProcess.StartAsync(port, threads: 2);
        await Eventually.WaitUntilAsync(
            async () => (await sink.DeliverAsync(new Delivery("probe", ProbeTarget(), "p"u8.ToArray(), 1))).Succeeded,
            TimeSpan.FromSeconds(20),
            "the sink never reconnected to the restarted memcached");
        await topology.AdvanceAsync(Backoff);

        Assert.Empty(topology.DeadLetters.ReadRecordsToList());
        Assert.Equal("value-1", await ReadAsync(_keyPrefix + "key-1"));
        Assert.Equal(1, _recorded.Sum(Deliveries, ("namespace", Ns), ("sink", "memcached"), ("outcome", "retried")));
        Assert.Equal(2, _recorded.Sum(Deliveries, ("namespace", Ns), ("sink", "memcached"), ("outcome", "delivered")));
    }

    private Target ProbeTarget() => new() { Memcached = new MemcachedTarget { Cluster = Table, Key = _keyPrefix + "probe" } };

    private static MemcachedSink SinkOn(string server) => new(new MemcachedSinkOptions
    {
        Clusters = new Dictionary<string, MemcachedClusterOptions> { [Table] = new() { Servers = [server] } },
        // Generous: the machine running the tests may be busy, and a timeout reads as retriable.
        OperationTimeout = TimeSpan.FromSeconds(10),
    });

    private async Task<string?> ReadAsync(string key)
    {
        await using var reader = new MemcachedClient(new MemcachedClientOptions { Servers = [Memcached.Endpoint] });
        var item = await reader.GetAsync(key);
        if (item is null || !VersionedValue.TryDecode(item.ClientFlags, item.Value, out _, out var tombstone, out var payload) || tombstone)
        {
            return null;
        }

        return Encoding.UTF8.GetString(payload.Span);
    }

    /// <summary>The WAL topology of one multi-table-mutation namespace, on the given sink and metrics.</summary>
    private sealed class Topology : IDisposable
    {
        private readonly TopologyTestDriver _driver;
        private readonly TestInputTopic<byte[], byte[]> _log;

        public Topology(ISink sink, RecordedMetrics recorded)
        {
            var registry = new NamespaceRegistry([new NamespaceConfig
            {
                Name = Ns,
                Personas = { Persona.MultiTableMutation },
                DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = Table } },
                MutationExpiry = Duration.FromTimeSpan(TimeSpan.FromMinutes(10)),
                Retry = new RetryPolicy
                {
                    InitialBackoff = Duration.FromTimeSpan(Backoff),
                    Multiplier = 1,
                    MaxBackoff = Duration.FromTimeSpan(Backoff),
                    MaxAttempts = 3,
                },
            }]);
            var options = new WalTopologyOptions { PersistentStores = false, TimerTick = Backoff };
            _driver = new TopologyTestDriver(WalTopology.Build(registry, sink, options, metrics: recorded.Metrics), initialWallClockTime: Start);
            _log = _driver.CreateInputTopic($"wal.{Ns}", Serializers.ByteArray, Serializers.ByteArray);
            DeadLetters = _driver.CreateOutputTopic($"wal.{Ns}.dlq", Deserializers.ByteArray, Deserializers.ByteArray);
        }

        public TestOutputTopic<byte[], byte[]> DeadLetters { get; }

        /// <summary>Writes one put chunk per version (keys <c>{keyPrefix}key-{sequence}</c>) and then the marker.</summary>
        public async Task MutationAsync(string requestId, string keyPrefix, long[] versions)
        {
            for (var sequence = 0u; sequence < versions.Length; sequence++)
            {
                await PipeAsync(requestId, new LogEntry
                {
                    Id = $"{requestId}/{sequence}",
                    Namespace = Ns,
                    AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
                    Chunk = new MutationChunk
                    {
                        Namespace = Ns,
                        RequestId = requestId,
                        Sequence = sequence,
                        Table = Table,
                        Put = new Put { Key = ByteString.CopyFromUtf8($"{keyPrefix}key-{sequence}"), Value = ByteString.CopyFromUtf8($"value-{sequence}") },
                        Version = versions[sequence],
                    },
                });
            }

            await PipeAsync(requestId, new LogEntry
            {
                Id = $"{requestId}/complete",
                Namespace = Ns,
                AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
                Completion = new MutationCompletion { Namespace = Ns, RequestId = requestId, ChunkCount = (uint)versions.Length },
            });
        }

        public Task AdvanceAsync(TimeSpan by) => _driver.AdvanceWallClockTimeAsync(by).AsTask();

        public void Dispose() => _driver.Dispose();

        private async Task PipeAsync(string requestId, LogEntry entry) =>
            await _log.PipeInputAsync(Encoding.UTF8.GetBytes(requestId), entry.ToByteArray());
    }
}
