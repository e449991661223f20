using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;
using static Wal.Sinks.Tests.MemcachedSinkKit;

namespace Wal.Sinks.Tests;

/// <summary>
/// A memcached run with <c>-C</c> (<c>--disable-cas</c>) answers every CAS token as 0, and a compare
/// on 0 is no compare at all: the version guard cannot hold there, and the sink must say so
/// instead of writing blind.
/// </summary>
public sealed class MemcachedSinkWithoutCasTests
{
    [Fact]
    public async Task DeliverAsync_ServerWithoutCasTokens_NeverOverwritesAStoredItemAndSaysWhy()
    {
        await using var memcached = await MemcachedProcess.StartAsync(threads: 1, extraArguments: ["-C"]);
        await using var reader = new MemcachedClient(new MemcachedClientOptions { Servers = [memcached.Endpoint] });
        await using var first = NewSink(memcached.Endpoint);
        await using var other = NewSink(memcached.Endpoint);
        var target = TargetOf(Guid.NewGuid().ToString("N"));
        var (v1, v2, v3) = (NextVersion(), NextVersion(), NextVersion());

        // An add needs no token: the key is missing, so nothing can be overwritten.
        Assert.Equal(DeliveryOutcome.Delivered, (await first.DeliverAsync(Deliver(target, "v1", v1))).Outcome);

        // Another writer's newer version, then this sink's rewrite of a key it wrote: both would
        // replace the stored item, which needs a compare on a real token.
        var newer = await other.DeliverAsync(Deliver(target, "v3", v3));
        var older = await first.DeliverAsync(Deliver(target, "v2", v2));

        Assert.Equal(DeliveryOutcome.PermanentFailure, newer.Outcome);
        Assert.Contains("-C", newer.Error, StringComparison.Ordinal);
        Assert.Equal(DeliveryOutcome.PermanentFailure, older.Outcome);
        var stored = await reader.GetAsync(target.Memcached.Key);
        Assert.NotNull(stored);
        Assert.True(VersionedValue.TryDecode(stored.ClientFlags, stored.Value, out var version, out _, out _));
        Assert.Equal(v1, version);
    }

    [Fact]
    public async Task DeliverAsync_ServerWithoutCasTokensHoldingANewerVersion_StillSuperseded()
    {
        await using var memcached = await MemcachedProcess.StartAsync(threads: 1, extraArguments: ["-C"]);
        await using var sink = NewSink(memcached.Endpoint);
        await using var other = NewSink(memcached.Endpoint);
        var target = TargetOf(Guid.NewGuid().ToString("N"));
        var (older, newer) = (NextVersion(), NextVersion());

        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(Deliver(target, "new", newer))).Outcome);

        // Deciding that a stored version is newer, or the same, needs no token.
        Assert.Equal(DeliveryOutcome.Superseded, (await other.DeliverAsync(Deliver(target, "old", older))).Outcome);
        Assert.Equal(DeliveryOutcome.Delivered, (await other.DeliverAsync(Deliver(target, "new", newer))).Outcome);
    }

    private static MemcachedSink NewSink(string server) => new(new MemcachedSinkOptions
    {
        Clusters = new Dictionary<string, MemcachedClusterOptions> { ["main"] = new() { Servers = [server] } },
        OperationTimeout = TimeSpan.FromSeconds(10),
    });

    private static Target TargetOf(string key) => new()
    {
        Memcached = new MemcachedTarget { Cluster = "main", Key = "no-cas:" + key, Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) },
    };
}
