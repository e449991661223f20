using System.Text;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;
using static Wal.Sinks.Tests.MemcachedSinkKit;

namespace Wal.Sinks.Tests;

/// <summary>
/// A server whose item size limit (<c>-I</c>) is below the configured <see cref="MemcachedSinkOptions.MaxItemBytes"/>:
/// memcached answers a larger write with <c>SERVER_ERROR object too large</c> and also drops the key's stored item, so
/// the sink must refuse such a write unsent, by the limit the server itself reports, or the version guard is lost.
/// </summary>
public sealed class MemcachedSinkServerItemLimitTests
{
    private const int ServerLimit = 512 * 1024;
    private static readonly byte[] AboveServerLimit = new byte[700 * 1024];

    [Fact]
    public async Task DeliverAsync_ValueAboveTheServersLimitButBelowMaxItemBytes_PermanentUnsentAndNewerVersionStillGuards()
    {
        await using var memcached = await StartSmallItemServerAsync();
        await using var sink = NewSink(memcached.Endpoint);
        var target = TargetOf(Guid.NewGuid().ToString("N"));
        var (older, newer, newest) = (NextVersion(), NextVersion(), NextVersion());
        Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(Deliver(target, "newer", newer))).Outcome);

        var tooLarge = await sink.DeliverAsync(new Delivery("big", target, AboveServerLimit, newest));
        var late = await sink.DeliverAsync(Deliver(target, "older", older));

        Assert.Equal(DeliveryOutcome.PermanentFailure, tooLarge.Outcome);
        Assert.Equal(DeliveryOutcome.Superseded, late.Outcome);
        Assert.Equal("newer", await ReadAsync(memcached, target));
        Assert.Contains($"item_size_max {ServerLimit}", tooLarge.Error, StringComparison.Ordinal);
        Assert.Contains("nothing was sent", tooLarge.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverInOrderAsync_ValueAboveTheServersLimitInTheBatch_PermanentThereEarlierStoredAndHeldVersionKept()
    {
        await using var memcached = await StartSmallItemServerAsync();
        await using var sink = NewSink(memcached.Endpoint);
        await using var other = NewSink(memcached.Endpoint);
        var (fresh, held) = (TargetOf(Guid.NewGuid().ToString("N")), TargetOf(Guid.NewGuid().ToString("N")));
        var (older, newer, newest) = (NextVersion(), NextVersion(), NextVersion());
        Assert.True((await other.DeliverAsync(Deliver(held, "theirs", newer))).Succeeded);

        var results = await sink.DeliverInOrderAsync([Deliver(fresh, "x", newest), new Delivery("big", held, AboveServerLimit, newest)]);
        var late = await sink.DeliverAsync(Deliver(held, "older", older));

        Assert.Equal([DeliveryOutcome.Delivered, DeliveryOutcome.PermanentFailure], results.Select(r => r.Outcome));
        Assert.Equal("x", await ReadAsync(memcached, fresh));
        Assert.Equal(DeliveryOutcome.Superseded, late.Outcome);
        Assert.Equal("theirs", await ReadAsync(memcached, held));
        Assert.Contains($"item_size_max {ServerLimit}", results[1].Error, StringComparison.Ordinal);
    }

    private static Task<MemcachedProcess> StartSmallItemServerAsync() =>
        MemcachedProcess.StartAsync(threads: 1, extraArguments: ["-I", $"{ServerLimit / 1024}k"]);

    // MaxItemBytes stays at its 1 MiB default: the configuration does not know this server's limit.
    private static MemcachedSink NewSink(string server) => new(new MemcachedSinkOptions
    {
        Clusters = new Dictionary<string, MemcachedClusterOptions> { ["main"] = new() { Servers = [server] } },
        OperationTimeout = TimeSpan.FromSeconds(10),
    });

    private static Target TargetOf(string key) => new()
    {
        Memcached = new MemcachedTarget { Cluster = "main", Key = "item-limit:" + key, Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) },
    };

    private static async Task<string?> ReadAsync(MemcachedProcess memcached, Target target)
    {
        await using var reader = new MemcachedClient(new MemcachedClientOptions { Servers = [memcached.Endpoint] });
        if (await reader.GetAsync(target.Memcached.Key) is not { } item)
        {
            return null;
        }

        Assert.True(VersionedValue.TryDecode(item.ClientFlags, item.Value, out _, out var tombstone, out var payload));
        return tombstone ? null : Encoding.UTF8.GetString(payload.Span);
    }
}
