using Confluent.Kafka;
using Google.Protobuf;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;

namespace Wal.EndToEnd.Tests.Topology;

/// <summary>
/// A mock cluster and a real memcached owned by the test, one namespace whose topics the test
/// creates, and a producer of log entries as the ingress would write them.
/// </summary>
internal sealed class TopologyRig : IAsyncDisposable
{
    public const string Namespace = "timers";
    private readonly MemcachedProcess _memcachedServer;
    private readonly MemcachedClient _memcached;
    private readonly IProducer<string, byte[]> _producer;
    private readonly string _directory;

    private TopologyRig(EmbeddedKafkaCluster cluster, MemcachedProcess memcached, string directory, string applicationId)
    {
        Cluster = cluster;
        _memcachedServer = memcached;
        _directory = directory;
        ApplicationId = applicationId;
        _memcached = new MemcachedClient(new MemcachedClientOptions { Servers = [memcached.Endpoint] });
        _producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, EnableIdempotence = true, LingerMs = 2 }).Build();
    }

    public EmbeddedKafkaCluster Cluster { get; }

    public string ApplicationId { get; }

    public string MemcachedEndpoint => _memcachedServer.Endpoint;

    public string SeedFile => Path.Combine(_directory, "namespaces.json");

    public static string Topic => $"wal.{Namespace}";

    public static async Task<TopologyRig> StartAsync(int partitions, string applicationId)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"wal-rig-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var memcached = await MemcachedProcess.StartAsync();
        var rig = new TopologyRig(cluster, memcached, directory, applicationId);
        await File.WriteAllTextAsync(rig.SeedFile, $$"""
            { "namespaces": [ {
              "name": "{{Namespace}}", "partitions": {{partitions}},
              "personas": ["PERSONA_DELIVERY", "PERSONA_DELAY_QUEUE"],
              "defaultTarget": { "memcached": { "cluster": "local" } },
              "retry": { "initialBackoff": "0.100s", "multiplier": 2.0, "maxBackoff": "2s", "maxAttempts": 20, "jitter": 0.2 },
              "maxDelay": "3600s"
            } ] }
            """);
        var namespaces = NamespaceSeedFile.Load(rig.SeedFile).Select(NamespaceDefaults.Resolve).ToList();
        await cluster.EnsureAsync([new ControlPlaneOptions { BootstrapServers = cluster.BootstrapServers }.TopicSpec]);
        await cluster.EnsureAsync(Wal.Cli.Hosting.Namespaces.TopicsFor(namespaces, applicationId));
        return rig;
    }

    public string StateDirectory(string instance) => Path.Combine(_directory, instance);

    /// <summary>Writes an entry for <paramref name="key"/> as the ingress would, acknowledged by the cluster; returns its accept time (ms).</summary>
    public async Task<long> ProduceAsync(string key, long versionMicros, byte[] payload, TimeSpan delay = default)
    {
        var now = DateTimeOffset.UtcNow;
        var lifecycle = new Lifecycle { OriginalWriteTime = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = versionMicros / 1_000_000, Nanos = (int)(versionMicros % 1_000_000) * 1_000 } };
        if (delay > TimeSpan.Zero)
        {
            lifecycle.Delay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(delay);
        }

        var entry = new LogEntry
        {
            Id = $"{key}@{versionMicros}",
            Namespace = Namespace,
            Lifecycle = lifecycle,
            Payload = ByteString.CopyFrom(payload),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = key } },
            AcceptedAtMs = now.ToUnixTimeMilliseconds(),
            OriginRegion = "local",
        };
        await _producer.ProduceAsync(Topic, new Message<string, byte[]> { Key = key, Value = entry.ToByteArray() });
        return entry.AcceptedAtMs;
    }

    /// <summary>The version memcached holds for <paramref name="key"/>, or null if nothing was delivered.</summary>
    public async Task<long?> VersionAsync(string key)
    {
        var item = await _memcached.GetAsync(key);
        return item is not null && VersionedValue.TryDecode(item.ClientFlags, item.Value, out var version, out var tombstone, out _) && !tombstone
            ? version
            : null;
    }

    /// <summary>Polls until <paramref name="condition"/> holds, or fails at the deadline with <paramref name="what"/>.</summary>
    public static Task WaitForAsync(Func<Task<bool>> condition, TimeSpan deadline, Func<string> what) =>
        Eventually.WaitUntilAsync(condition, deadline, what, TimeSpan.FromMilliseconds(50));

    public async ValueTask DisposeAsync()
    {
        _producer.Dispose();
        await _memcached.DisposeAsync();
        await _memcachedServer.DisposeAsync();
        Cluster.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A RocksDB file still closing; the temp directory is cleaned by the OS.
        }
    }
}
