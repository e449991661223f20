using System.Text;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;

namespace Wal.Sinks.Tests;

/// <summary>
/// The <see cref="MemcachedSink"/>'s write paths against a real memcached: the add tried first for
/// keys the sink knows nothing about, and its fallback to read-compare-write when the key exists.
/// A second sink instance plays the other writer, so nothing is known from the first one's cache.
/// </summary>
public sealed class MemcachedSinkWritePathTests : IClassFixture<MemcachedServerFixture>, IAsyncLifetime
{
    private static long _versions = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private readonly MemcachedServerFixture _server;
    private readonly List<MemcachedSink> _sinks = [];
    private readonly MemcachedClient _reader;

    public MemcachedSinkWritePathTests(MemcachedServerFixture server)
    {
        _server = server;
        _reader = new MemcachedClient(new MemcachedClientOptions { Servers = [server.Server] });
    }

    [Fact]
    public async Task DeliverAsync_NewKeys_OneSetEachAndNoRead()
    {
        var sink = NewSink();
        var targets = Enumerable.Range(0, 50).Select(_ => NewTarget()).ToArray();
        var getsBefore = await _server.StatAsync("cmd_get");
        var setsBefore = await _server.StatAsync("cmd_set");

        foreach (var target in targets)
        {
            Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(Deliver(target, "v", NextVersion()))).Outcome);
        }

        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);
        Assert.Equal(targets.Length, await _server.StatAsync("cmd_set") - setsBefore);
        Assert.Equal("v", await ReadAsync(targets[^1]));
    }

    [Fact]
    public async Task DeliverAsync_DeleteOfNewKey_LeavesATombstoneThatSupersedesOlderSets()
    {
        var target = NewTarget();
        var version = NextVersion();
        var getsBefore = await _server.StatAsync("cmd_get");

        Assert.Equal(DeliveryOutcome.Delivered, (await NewSink().DeliverAsync(Deliver(AsDelete(target), string.Empty, version))).Outcome);
        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);

        Assert.Equal(DeliveryOutcome.Superseded, (await NewSink().DeliverAsync(Deliver(target, "late", version - 1))).Outcome);
        Assert.Null(await ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_KeyHoldsOlderVersionFromAnotherWriter_Overwrites()
    {
        var target = NewTarget();
        var older = NextVersion();
        Assert.True((await NewSink().DeliverAsync(Deliver(target, "older", older))).Succeeded);

        var result = await NewSink().DeliverAsync(Deliver(target, "newer", older + 1));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("newer", await ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_KeyHoldsNewerVersionFromAnotherWriter_SupersededForSetAndDelete()
    {
        var target = NewTarget();
        var newer = NextVersion();
        Assert.True((await NewSink().DeliverAsync(Deliver(target, "newer", newer))).Succeeded);

        var set = await NewSink().DeliverAsync(Deliver(target, "older", newer - 1));
        var delete = await NewSink().DeliverAsync(Deliver(AsDelete(target), string.Empty, newer - 1));

        Assert.Equal(DeliveryOutcome.Superseded, set.Outcome);
        Assert.Equal(DeliveryOutcome.Superseded, delete.Outcome);
        Assert.Equal("newer", await ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_RedeliveryOfStoredVersionByAnotherWriter_DeliveredAndUnchanged()
    {
        var target = NewTarget();
        var version = NextVersion();
        Assert.True((await NewSink().DeliverAsync(Deliver(target, "first", version))).Succeeded);
        var casBefore = (await _reader.GetAsync(target.Memcached.Key))!.Cas;

        var again = await NewSink().DeliverAsync(Deliver(target, "second copy", version));

        Assert.Equal(DeliveryOutcome.Delivered, again.Outcome);
        Assert.Equal(casBefore, (await _reader.GetAsync(target.Memcached.Key))!.Cas);
        Assert.Equal("first", await ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_WritersRacingOnANewKey_NewestVersionWins()
    {
        for (var round = 0; round < 5; round++)
        {
            var target = NewTarget();
            var writers = Enumerable.Range(0, 12).Select(_ => NewSink()).ToArray();
            var versions = writers.Select(_ => NextVersion()).OrderBy(_ => Random.Shared.Next()).ToArray();

            var results = await Task.WhenAll(writers.Zip(versions).Select(p => p.First.DeliverAsync(Deliver(target, p.Second.ToString(), p.Second)).AsTask()));

            Assert.All(results, r => Assert.True(r.Outcome is DeliveryOutcome.Delivered or DeliveryOutcome.Superseded or DeliveryOutcome.RetriableFailure, r.Error));
            foreach (var (writer, version) in writers.Zip(versions).Zip(results).Where(p => p.Second.Outcome == DeliveryOutcome.RetriableFailure).Select(p => p.First))
            {
                Assert.True((await writer.DeliverAsync(Deliver(target, version.ToString(), version))).Succeeded);
            }

            Assert.Equal(versions.Max().ToString(), await ReadAsync(target));
        }
    }

    [Fact]
    public async Task DeliverAsync_MostUnknownKeysExist_ReadsFirstUntilKeysGoMissingAgain()
    {
        var targets = Enumerable.Range(0, 40).Select(_ => NewTarget()).ToArray();
        var first = NewSink();
        foreach (var target in targets)
        {
            Assert.True((await first.DeliverAsync(Deliver(target, "one", NextVersion()))).Succeeded);
        }

        var second = NewSink();
        var setsBefore = await _server.StatAsync("cmd_set");
        foreach (var target in targets)
        {
            Assert.Equal(DeliveryOutcome.Delivered, (await second.DeliverAsync(Deliver(target, "two", NextVersion()))).Outcome);
        }

        // Each key costs one compare-and-set, plus a failed add only while the advice still said add.
        Assert.InRange(await _server.StatAsync("cmd_set") - setsBefore, targets.Length, targets.Length + 10);
        Assert.Equal("two", await ReadAsync(targets[^1]));

        var fresh = Enumerable.Range(0, 40).Select(_ => NewTarget()).ToArray();
        foreach (var target in fresh[..30])
        {
            Assert.True((await second.DeliverAsync(Deliver(target, "new", NextVersion()))).Succeeded);
        }

        var getsBefore = await _server.StatAsync("cmd_get");
        foreach (var target in fresh[30..])
        {
            Assert.True((await second.DeliverAsync(Deliver(target, "new", NextVersion()))).Succeeded);
        }

        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var sink in _sinks)
        {
            await sink.DisposeAsync();
        }

        await _reader.DisposeAsync();
    }

    private MemcachedSink NewSink()
    {
        var sink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions> { ["main"] = new() { Servers = [_server.Server] } },
            // Generous: the machine running the tests may be busy, and a timeout reads as retriable.
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        _sinks.Add(sink);
        return sink;
    }

    private static Target NewTarget() => new()
    {
        Memcached = new MemcachedTarget { Cluster = "main", Key = "write-path:" + Guid.NewGuid().ToString("N"), Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) },
    };

    private static Target AsDelete(Target target)
    {
        var delete = target.Clone();
        delete.Memcached.Delete = true;
        return delete;
    }

    private static Delivery Deliver(Target target, string payload, long version) =>
        new(Guid.NewGuid().ToString("N"), target, Encoding.UTF8.GetBytes(payload), version);

    private static long NextVersion() => Interlocked.Add(ref _versions, 10);

    private async Task<string?> ReadAsync(Target target)
    {
        var item = await _reader.GetAsync(target.Memcached.Key);
        if (item is null)
        {
            return null;
        }

        Assert.True(VersionedValue.TryDecode(item.ClientFlags, item.Value, out _, out var tombstone, out var payload), "The sink wrote an item without its version header.");
        return tombstone ? null : Encoding.UTF8.GetString(payload.Span);
    }
}
