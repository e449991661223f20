using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>Two regions, a and b, each with its own mock Kafka cluster, memcached and topology.</summary>
public sealed class RegionReplicatorTests : IAsyncLifetime
{
    private const string Topic = "wal.profiles";
    private const int Partitions = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private TestRegion _a = null!;
    private TestRegion _b = null!;

    public async Task InitializeAsync()
    {
        _a = await TestRegion.CreateAsync("a", _timeout.Token);
        _b = await TestRegion.CreateAsync("b", _timeout.Token);
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "profiles",
            Topic = Topic,
            DeadLetterTopic = "wal.profiles.dlq",
            Partitions = Partitions,
            Personas = { Persona.CrossRegionReplication, Persona.Delivery },
            Regions =
            {
                new Region { Name = "a", BootstrapServers = _a.Kafka.BootstrapServers },
                new Region { Name = "b", BootstrapServers = _b.Kafka.BootstrapServers },
            },
        }]);
        await _a.RunAsync(registry, _timeout.Token);
        await _b.RunAsync(registry, _timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _timeout.Dispose();
    }

    [Fact]
    public async Task Replicate_WriteInA_ReachesBWithOriginHeaderAndIsAppliedInBothRegionsOnce()
    {
        await _a.WriteAsync(Topic, [Entry("w1", "user-1", "alice", 1)], _timeout.Token);

        await TopicContents.WaitForAsync(async () => await _b.ReadCacheAsync("user-1", _timeout.Token) == "alice", Patience, "b's memcached to hold a's write");
        await TopicContents.WaitForAsync(async () => await _a.ReadCacheAsync("user-1", _timeout.Token) == "alice", Patience, "a's memcached to hold a's write");
        // b's replicator has read past the replicated record (and skipped it): only then can "never sent back" be checked.
        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.CommittedTotal(_b.Kafka.BootstrapServers, "wal-replicate-profiles-to-a", Topic, Partitions) == 1),
            Patience, "b's replicator to commit past the replicated record");

        var inB = Assert.Single(TopicContents.ReadAll(_b.Kafka.BootstrapServers, Topic, Partitions));
        Assert.Equal("w1", inB.Value.Id);
        Assert.Equal("a", inB.Value.OriginRegion);
        Assert.Equal("a", inB.Headers[ReplicationHeaders.OriginRegion]);
        Assert.StartsWith($"{Topic}/", inB.Headers[ReplicationHeaders.OriginPosition], StringComparison.Ordinal);
        var inA = Assert.Single(TopicContents.ReadAll(_a.Kafka.BootstrapServers, Topic, Partitions));
        Assert.Equal(inA.Partition, inB.Partition);
        Assert.Equal(0, _b.Replication!.Replicators.Single().Replicated);
    }

    [Fact]
    public async Task Replicate_WriteInB_ReachesAAndIsNotSentBack()
    {
        await _b.WriteAsync(Topic, [Entry("w2", "user-2", "bob", 1)], _timeout.Token);

        await TopicContents.WaitForAsync(async () => await _a.ReadCacheAsync("user-2", _timeout.Token) == "bob", Patience, "a's memcached to hold b's write");
        await TopicContents.WaitForAsync(async () => await _b.ReadCacheAsync("user-2", _timeout.Token) == "bob", Patience, "b's memcached to hold b's write");
        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.CommittedTotal(_a.Kafka.BootstrapServers, "wal-replicate-profiles-to-b", Topic, Partitions) == 1),
            Patience, "a's replicator to commit past the replicated record");

        var inA = Assert.Single(TopicContents.ReadAll(_a.Kafka.BootstrapServers, Topic, Partitions));
        Assert.Equal("b", inA.Value.OriginRegion);
        Assert.Equal("b", inA.Headers[ReplicationHeaders.OriginRegion]);
        Assert.Single(TopicContents.ReadAll(_b.Kafka.BootstrapServers, Topic, Partitions));
        Assert.Equal(0, _a.Replication!.Replicators.Single().Replicated);
    }

    // An ingress run with a region name the namespace does not list (here 'A' for 'a') stamps every write with it, and
    // nothing is replicated. A copy from a listed region ('b') is skipped as before; only the unknown origin is counted.
    [Fact]
    public async Task Replicate_OriginNoRegionListed_NotSentAndCounted()
    {
        await _a.WriteAsync(Topic, [Entry("w3", "user-3", "carol", 1)], _timeout.Token, originRegion: "A");
        await _a.WriteAsync(Topic, [Entry("w4", "user-4", "dave", 1)], _timeout.Token, originRegion: "b");

        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.CommittedTotal(_a.Kafka.BootstrapServers, "wal-replicate-profiles-to-b", Topic, Partitions) == 2),
            Patience, "a's replicator to commit past both records");

        var replicator = _a.Replication!.Replicators.Single();
        Assert.Equal(0, replicator.Sent);
        Assert.Equal(1, replicator.UnknownOrigin);
    }

    [Fact]
    public async Task Replicate_RemoteRegionDown_KeepsBacklogAndDeliversItInKeyOrderWhenBack()
    {
        const int Writes = 300;
        var keys = new[] { "k-0", "k-1", "k-2", "k-3", "k-4" };
        _b.SetDown();
        var entries = Enumerable.Range(0, Writes).Select(i => Entry($"e{i}", keys[i % keys.Length], $"v{i}", i + 1)).ToList();

        await _a.WriteAsync(Topic, entries, _timeout.Token);

        // Writes in a stay durable and are applied in a while b is away.
        foreach (var key in keys)
        {
            var last = entries.Last(e => e.Target.Memcached.Key == key).Payload.ToStringUtf8();
            await TopicContents.WaitForAsync(async () => await _a.ReadCacheAsync(key, _timeout.Token) == last, Patience, $"a's memcached to hold {key}={last}");
        }

        Assert.Equal(0, TopicContents.CommittedTotal(_a.Kafka.BootstrapServers, "wal-replicate-profiles-to-b", Topic, Partitions));
        Assert.Equal(0, _a.Replication!.Replicators.Single().Replicated);

        _b.SetUp();

        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.CommittedTotal(_a.Kafka.BootstrapServers, "wal-replicate-profiles-to-b", Topic, Partitions) == Writes),
            Patience, "a's replicator to commit every write once b acknowledged it");
        var inB = TopicContents.ReadAll(_b.Kafka.BootstrapServers, Topic, Partitions);
        Assert.Equal(Writes, inB.Count);
        foreach (var key in keys)
        {
            var expected = entries.Where(e => e.Target.Memcached.Key == key).Select(e => e.Id);
            Assert.Equal(expected, inB.Where(r => r.Key == key).Select(r => r.Value.Id));
            var last = entries.Last(e => e.Target.Memcached.Key == key).Payload.ToStringUtf8();
            await TopicContents.WaitForAsync(async () => await _b.ReadCacheAsync(key, _timeout.Token) == last, Patience, $"b's memcached to hold {key}={last}");
        }
    }

    [Fact]
    public async Task Replicate_RestartedWhileRemoteDown_ResumesFromCommittedOffsetAndLosesNothing()
    {
        const int Writes = 100;
        var keys = new[] { "r-0", "r-1", "r-2" };
        _b.SetDown();
        var entries = Enumerable.Range(0, Writes).Select(i => Entry($"r{i}", keys[i % keys.Length], $"v{i}", i + 1)).ToList();
        await _a.WriteAsync(Topic, entries, _timeout.Token);
        await TopicContents.WaitForAsync(() => Task.FromResult(_a.Replication!.Replicators.Single().Sent == Writes), Patience, "a's replicator to hand every write to its producer");

        // Whatever the old producer held dies with it: the backlog is the uncommitted tail of a's topic.
        await _a.RestartReplicationAsync(_timeout.Token);
        _b.SetUp();

        await TopicContents.WaitForAsync(
            () => Task.FromResult(TopicContents.CommittedTotal(_a.Kafka.BootstrapServers, "wal-replicate-profiles-to-b", Topic, Partitions) == Writes),
            Patience, "the restarted replicator to commit every write");
        var inB = TopicContents.ReadAll(_b.Kafka.BootstrapServers, Topic, Partitions);
        foreach (var key in keys)
        {
            // At least once: a copy the old producer got out before it was dropped may precede the re-sent ones.
            var expected = entries.Where(e => e.Target.Memcached.Key == key).Select(e => e.Id).ToList();
            var received = inB.Where(r => r.Key == key).Select(r => r.Value.Id).ToList();
            Assert.Equal(expected, received.Skip(received.Count - expected.Count));
        }
    }

    private static LogEntry Entry(string id, string key, string value, long sequence) => new()
    {
        Id = id,
        Namespace = "profiles",
        Payload = Google.Protobuf.ByteString.CopyFromUtf8(value),
        Target = new Target { Memcached = new MemcachedTarget { Cluster = TestRegion.Cluster, Key = key } },
        AcceptedAtMs = 1_790_000_000_000 + sequence,
    };
}
