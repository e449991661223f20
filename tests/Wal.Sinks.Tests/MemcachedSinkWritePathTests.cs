using Wal.Sinks.Memcached;
using static Wal.Sinks.Tests.MemcachedSinkKit;

namespace Wal.Sinks.Tests;

/// <summary>
/// The <see cref="MemcachedSink"/>'s write paths against a real memcached: the add tried first for
/// keys the sink knows nothing about, and its fallback to read-compare-write when the key exists.
/// A second sink instance plays the other writer, so nothing is known from the first one's cache.
/// </summary>
public sealed class MemcachedSinkWritePathTests : IClassFixture<MemcachedServerFixture>, IAsyncLifetime
{
    private readonly MemcachedServerFixture _server;
    private readonly MemcachedSinkKit _kit;

    public MemcachedSinkWritePathTests(MemcachedServerFixture server)
    {
        _server = server;
        _kit = new MemcachedSinkKit(server, "write-path:", "main");
    }

    [Fact]
    public async Task DeliverAsync_NewKeys_OneSetEachAndNoRead()
    {
        var sink = _kit.NewSink();
        var targets = Enumerable.Range(0, 50).Select(_ => _kit.NewTarget()).ToArray();
        var getsBefore = await _server.StatAsync("cmd_get");
        var setsBefore = await _server.StatAsync("cmd_set");

        foreach (var target in targets)
        {
            Assert.Equal(DeliveryOutcome.Delivered, (await sink.DeliverAsync(Deliver(target, "v", NextVersion()))).Outcome);
        }

        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);
        Assert.Equal(targets.Length, await _server.StatAsync("cmd_set") - setsBefore);
        Assert.Equal("v", await _kit.ReadAsync(targets[^1]));
    }

    [Fact]
    public async Task DeliverAsync_DeleteOfNewKey_LeavesATombstoneThatSupersedesOlderSets()
    {
        var target = _kit.NewTarget();
        var version = NextVersion();
        var getsBefore = await _server.StatAsync("cmd_get");

        Assert.Equal(DeliveryOutcome.Delivered, (await _kit.NewSink().DeliverAsync(Deliver(AsDelete(target), string.Empty, version))).Outcome);
        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);

        Assert.Equal(DeliveryOutcome.Superseded, (await _kit.NewSink().DeliverAsync(Deliver(target, "late", version - 1))).Outcome);
        Assert.Null(await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_KeyHoldsOlderVersionFromAnotherWriter_Overwrites()
    {
        var target = _kit.NewTarget();
        var older = NextVersion();
        Assert.True((await _kit.NewSink().DeliverAsync(Deliver(target, "older", older))).Succeeded);

        var result = await _kit.NewSink().DeliverAsync(Deliver(target, "newer", older + 1));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("newer", await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_KeyHoldsNewerVersionFromAnotherWriter_SupersededForSetAndDelete()
    {
        var target = _kit.NewTarget();
        var newer = NextVersion();
        Assert.True((await _kit.NewSink().DeliverAsync(Deliver(target, "newer", newer))).Succeeded);

        var set = await _kit.NewSink().DeliverAsync(Deliver(target, "older", newer - 1));
        var delete = await _kit.NewSink().DeliverAsync(Deliver(AsDelete(target), string.Empty, newer - 1));

        Assert.Equal(DeliveryOutcome.Superseded, set.Outcome);
        Assert.Equal(DeliveryOutcome.Superseded, delete.Outcome);
        Assert.Equal("newer", await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_RedeliveryOfStoredVersionByAnotherWriter_DeliveredAndUnchanged()
    {
        var target = _kit.NewTarget();
        var version = NextVersion();
        Assert.True((await _kit.NewSink().DeliverAsync(Deliver(target, "first", version))).Succeeded);
        var casBefore = (await _kit.Reader.GetAsync(target.Memcached.Key))!.Cas;

        var again = await _kit.NewSink().DeliverAsync(Deliver(target, "second copy", version));

        Assert.Equal(DeliveryOutcome.Delivered, again.Outcome);
        Assert.Equal(casBefore, (await _kit.Reader.GetAsync(target.Memcached.Key))!.Cas);
        Assert.Equal("first", await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_WritersRacingOnANewKey_NewestVersionWins()
    {
        for (var round = 0; round < 5; round++)
        {
            var target = _kit.NewTarget();
            var writers = Enumerable.Range(0, 12).Select(_ => _kit.NewSink()).ToArray();
            var versions = writers.Select(_ => NextVersion()).OrderBy(_ => Random.Shared.Next()).ToArray();

            var results = await Task.WhenAll(writers.Zip(versions).Select(p => p.First.DeliverAsync(Deliver(target, p.Second.ToString(), p.Second)).AsTask()));

            Assert.All(results, r => Assert.True(r.Outcome is DeliveryOutcome.Delivered or DeliveryOutcome.Superseded or DeliveryOutcome.RetriableFailure, r.Error));
            foreach (var (writer, version) in writers.Zip(versions).Zip(results).Where(p => p.Second.Outcome == DeliveryOutcome.RetriableFailure).Select(p => p.First))
            {
                Assert.True((await writer.DeliverAsync(Deliver(target, version.ToString(), version))).Succeeded);
            }

            Assert.Equal(versions.Max().ToString(), await _kit.ReadAsync(target));
        }
    }

    [Fact]
    public async Task DeliverAsync_MostUnknownKeysExist_ReadsFirstUntilKeysGoMissingAgain()
    {
        var targets = Enumerable.Range(0, 40).Select(_ => _kit.NewTarget()).ToArray();
        var first = _kit.NewSink();
        foreach (var target in targets)
        {
            Assert.True((await first.DeliverAsync(Deliver(target, "one", NextVersion()))).Succeeded);
        }

        var second = _kit.NewSink();
        var setsBefore = await _server.StatAsync("cmd_set");
        foreach (var target in targets)
        {
            Assert.Equal(DeliveryOutcome.Delivered, (await second.DeliverAsync(Deliver(target, "two", NextVersion()))).Outcome);
        }

        // Each key costs one compare-and-set, plus a failed add only while the advice still said add.
        Assert.InRange(await _server.StatAsync("cmd_set") - setsBefore, targets.Length, targets.Length + 10);
        Assert.Equal("two", await _kit.ReadAsync(targets[^1]));

        var fresh = Enumerable.Range(0, 40).Select(_ => _kit.NewTarget()).ToArray();
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

    public async Task DisposeAsync() => await _kit.DisposeAsync();
}
