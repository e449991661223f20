using Wal.Kafka;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>
/// Regions a and b (a mock cluster each) sharing one registry, as two control planes holding the
/// same definitions would: namespaces created, changed and deleted while replication runs.
/// </summary>
public sealed class ReplicationHostTests : IAsyncLifetime
{
    private const int Partitions = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private NamespaceRegistry _registry = null!;
    private TestRegion _a = null!;
    private TestRegion _b = null!;

    public async Task InitializeAsync()
    {
        _a = await TestRegion.CreateAsync("a", _timeout.Token);
        _b = await TestRegion.CreateAsync("b", _timeout.Token);
        _registry = new NamespaceRegistry([Replicating("profiles")]);
        await _a.RunAsync(_registry, _timeout.Token);
        await _b.RunAsync(_registry, _timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task RegistryChanged_NamespaceCreatedAfterStart_ReplicatedToBWithoutRestart()
    {
        _registry.Upsert(Replicating("orders"));
        await WaitForReplicatorAsync(_a, "wal-replicate-orders-to-b");

        var entries = Entries("orders", "o", 20);
        await _a.WriteAsync("wal.orders", entries, _timeout.Token);

        await WaitForCountAsync(_b, "wal.orders", entries.Count, "b's wal.orders to hold a's writes");
        var inB = TopicContents.ReadAll(_b.Kafka.BootstrapServers, "wal.orders", Partitions);
        Assert.Equal(entries.Select(e => e.Id).Order(StringComparer.Ordinal), inB.Select(r => r.Value.Id).Order(StringComparer.Ordinal));
        Assert.All(inB, r => Assert.Equal("a", r.Value.OriginRegion));
        Assert.Equal(["orders", "profiles"], _a.Replication!.Namespaces);
        Assert.Equal(1, _a.Replication.ChangesApplied);
    }

    [Fact]
    public async Task RegistryChanged_AroundTheChange_ExistingReplicatorKeepsRunningAndSendsEachRecordOnce()
    {
        const int Half = 50;
        var before = _a.Replication!.Replicators.Single();
        var entries = Entries("profiles", "p", 2 * Half);
        await _a.WriteAsync("wal.profiles", entries.Take(Half), _timeout.Token);

        _registry.Upsert(Replicating("orders"));
        await _a.WriteAsync("wal.profiles", entries.Skip(Half), _timeout.Token);
        await WaitForReplicatorAsync(_a, "wal-replicate-orders-to-b");

        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.CommittedTotal(_a.Kafka.BootstrapServers, "wal-replicate-profiles-to-b", "wal.profiles", Partitions) == entries.Count),
            Patience, "a's profiles replicator to commit every write");
        // Untouched by the change: the same replicator, and it never re-sent (Sent counts re-sends),
        // so b holds each record exactly once, in each key's order.
        Assert.Same(before, _a.Replication.Replicators.Single(r => r.Options.Namespace == "profiles"));
        Assert.Equal(entries.Count, before.Sent);
        var inB = TopicContents.ReadAll(_b.Kafka.BootstrapServers, "wal.profiles", Partitions);
        Assert.Equal(entries.Count, inB.Count);
        foreach (var key in entries.Select(e => e.Target.Memcached.Key).Distinct())
        {
            Assert.Equal(entries.Where(e => e.Target.Memcached.Key == key).Select(e => e.Id), inB.Where(r => r.Key == key).Select(r => r.Value.Id));
        }
    }

    [Fact]
    public async Task RegistryChanged_NamespaceDeleted_StopsReplicatingWithProgressCommitted()
    {
        _registry.Upsert(Replicating("orders"));
        await WaitForReplicatorAsync(_a, "wal-replicate-orders-to-b");
        await _a.WriteAsync("wal.orders", Entries("orders", "before", 10), _timeout.Token);
        await WaitForCountAsync(_b, "wal.orders", 10, "b's wal.orders to hold the writes made before the deletion");

        Assert.True(_registry.Remove("orders"));
        await TopicContents.WaitForAsync(
            () => Task.FromResult(_a.Replication!.Replicators.All(r => r.Options.Namespace != "orders")),
            Patience, "a's orders replicator to stop");

        // Stopping committed everything b had acknowledged: a later replicator would resume after it.
        Assert.Equal(10, TopicContents.CommittedTotal(_a.Kafka.BootstrapServers, "wal-replicate-orders-to-b", "wal.orders", Partitions));
        await _a.WriteAsync("wal.orders", Entries("orders", "after", 10), _timeout.Token);
        // A barrier: a record of a namespace still replicating, written after, has crossed over.
        await _a.WriteAsync("wal.profiles", Entries("profiles", "barrier", 1), _timeout.Token);
        await WaitForCountAsync(_b, "wal.profiles", 1, "the barrier record to reach b");
        Assert.Equal(10, TopicContents.ReadAll(_b.Kafka.BootstrapServers, "wal.orders", Partitions).Count);
        Assert.Equal(["profiles"], _a.Replication!.Namespaces);
    }

    [Fact]
    public async Task StartAsync_NamespaceCreatedWhileTheFirstReplicatorsStart_ReplicatedOnceStarted()
    {
        // The control plane follows its topic while the host starts: a namespace created then reached the registry after
        // the host planned and before it followed the registry.
        var registry = new NamespaceRegistry([Replicating("early")]);
        _b.Kafka.CreateTopic("wal.late", Partitions);
        var topics = new ChangingProvisioner(_a.Kafka, () => registry.Upsert(Replicating("late")));
        await using var host = new ReplicationHost(
            registry,
            namespaces => CrossRegionReplication.Plan(namespaces, "a", _a.Kafka.BootstrapServers),
            topics,
            debounce: TimeSpan.FromMilliseconds(200));

        await host.StartAsync(_timeout.Token);

        await TopicContents.WaitForAsync(
            () => Task.FromResult(host.Namespaces.Contains("late")),
            Patience, "a replicator for late, created while the host started");
    }

    private static async Task WaitForReplicatorAsync(TestRegion region, string groupId) =>
        await TopicContents.WaitForAsync(
            () => Task.FromResult(region.Replication!.Replicators.Any(r => r.Options.GroupId == groupId)),
            Patience, $"region {region.Name} to start replicator {groupId}");

    private static async Task WaitForCountAsync(TestRegion region, string topic, int count, string what) =>
        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.ReadAll(region.Kafka.BootstrapServers, topic, Partitions).Count >= count),
            Patience, what);

    private NamespaceConfig Replicating(string name) => new()
    {
        Name = name,
        Topic = $"wal.{name}",
        DeadLetterTopic = $"wal.{name}.dlq",
        Partitions = Partitions,
        Personas = { Persona.CrossRegionReplication, Persona.Delivery },
        Regions =
        {
            new Region { Name = "a", BootstrapServers = _a.Kafka.BootstrapServers },
            new Region { Name = "b", BootstrapServers = _b.Kafka.BootstrapServers },
        },
    };

    private static List<LogEntry> Entries(string ns, string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new LogEntry
        {
            Id = $"{prefix}-{i}",
            Namespace = ns,
            Payload = Google.Protobuf.ByteString.CopyFromUtf8($"v{i}"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = TestRegion.Cluster, Key = $"{prefix}-k{i % 4}" } },
            AcceptedAtMs = 1_790_000_000_000 + i,
        })];

    /// <summary>Creates topics through the cluster, after running a change once, as the registry changing meanwhile would.</summary>
    private sealed class ChangingProvisioner(ITopicProvisioner inner, Action change) : ITopicProvisioner
    {
        private Action? _change = change;

        public Task EnsureAsync(IReadOnlyCollection<TopicSpec> topics, CancellationToken cancellationToken = default)
        {
            Interlocked.Exchange(ref _change, null)?.Invoke();
            return inner.EnsureAsync(topics, cancellationToken);
        }
    }
}
