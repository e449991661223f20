using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;
using Wal.Streams;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>
/// One region as Wal runs it: its own Kafka cluster (one mock broker), its own real memcached, a
/// WAL topology applying the namespace topic to that memcached, and the region's replicators.
/// </summary>
internal sealed class TestRegion : IAsyncDisposable
{
    public const string Cluster = "local";
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-replication-tests-{Guid.NewGuid():N}");
    private MemcachedSink? _sink;
    private KafkaStreams? _streams;
    private INamespaceRegistry? _registry;
    private TimeSpan _debounce;

    private TestRegion(string name, EmbeddedKafkaCluster kafka, MemcachedProcess memcached)
    {
        Name = name;
        Kafka = kafka;
        Memcached = memcached;
    }

    public string Name { get; }

    public EmbeddedKafkaCluster Kafka { get; }

    public MemcachedProcess Memcached { get; }

    public ReplicationHost? Replication { get; private set; }

    /// <summary>Starts the cluster and memcached; call <see cref="RunAsync"/> once every region's address is known.</summary>
    public static async Task<TestRegion> CreateAsync(string name, CancellationToken cancellationToken)
    {
        var kafka = EmbeddedKafkaCluster.Start(1);
        try
        {
            return new TestRegion(name, kafka, await MemcachedProcess.StartAsync(threads: 2, cancellationToken: cancellationToken));
        }
        catch
        {
            kafka.Dispose();
            throw;
        }
    }

    /// <summary>Runs the topology over the registry's namespaces now, and replicators that follow the registry.</summary>
    public async Task RunAsync(INamespaceRegistry registry, CancellationToken cancellationToken, TimeSpan? debounce = null)
    {
        _registry = registry;
        _debounce = debounce ?? TimeSpan.FromMilliseconds(200);
        foreach (var ns in registry.All)
        {
            Kafka.CreateTopic(ns.Topic, ns.Partitions);
            Kafka.CreateTopic(ns.DeadLetterTopic, ns.Partitions);
        }

        _sink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions> { [Cluster] = new() { Servers = [Memcached.Endpoint] } },
        });
        var topology = Topology.WalTopology.Build(registry, _sink, new Topology.WalTopologyOptions { Region = Name, PersistentStores = false });
        _streams = new KafkaStreams(topology, new StreamsConfig
        {
            ApplicationId = $"wal-{Name}",
            BootstrapServers = Kafka.BootstrapServers,
            StateDirectory = _stateDirectory,
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        });
        await _streams.StartAsync(cancellationToken);
        await StartReplicationAsync(cancellationToken);
    }

    /// <summary>Stops this region's replicators (as a crash or a deploy would) and starts new ones, which resume from the committed offsets.</summary>
    public async Task RestartReplicationAsync(CancellationToken cancellationToken)
    {
        await Replication!.DisposeAsync();
        await StartReplicationAsync(cancellationToken);
    }

    private async Task StartReplicationAsync(CancellationToken cancellationToken)
    {
        Replication = new ReplicationHost(
            _registry!,
            namespaces => [.. CrossRegionReplication.Plan(namespaces, Name, Kafka.BootstrapServers)
                .Select(o => o with { CommitInterval = TimeSpan.FromMilliseconds(200), SessionTimeout = TimeSpan.FromSeconds(6) })],
            Kafka,
            debounce: _debounce);
        await Replication.StartAsync(cancellationToken);
    }

    /// <summary>Writes entries as this region's ingress would (origin = this region, acks=all) and waits for every ack.</summary>
    public async Task WriteAsync(string topic, IEnumerable<LogEntry> entries, CancellationToken cancellationToken, string? originRegion = null)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = Kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        }).Build();
        foreach (var entry in entries)
        {
            entry.OriginRegion = originRegion ?? Name;
            var result = await producer.ProduceAsync(
                topic,
                new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(entry.Target.Memcached.Key), Value = entry.ToByteArray() },
                cancellationToken);
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
        }
    }

    /// <summary>The payload memcached holds for a key (decoded from the sink's versioned format), or null.</summary>
    public async Task<string?> ReadCacheAsync(string key, CancellationToken cancellationToken)
    {
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [Memcached.Endpoint] });
        var item = await client.GetAsync(key, cancellationToken);
        if (item is null || !VersionedValue.TryDecode(item.ClientFlags, item.Value, out _, out var tombstone, out var payload) || tombstone)
        {
            return null;
        }

        return Encoding.UTF8.GetString(payload.Span);
    }

    public void SetDown() => Kafka.SetBrokerDown(1);

    public void SetUp() => Kafka.SetBrokerUp(1);

    public async ValueTask DisposeAsync()
    {
        if (Replication is not null)
        {
            await Replication.DisposeAsync();
        }

        if (_streams is not null)
        {
            await _streams.CloseAsync(CancellationToken.None);
            await _streams.DisposeAsync();
        }

        if (_sink is not null)
        {
            await _sink.DisposeAsync();
        }

        await Memcached.DisposeAsync();
        Kafka.Dispose();
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }
}
