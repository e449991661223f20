using Wal.Schemas.V1;
using Wal.Sinks.Memcached;
using static Wal.Sinks.Tests.MemcachedSinkKit;

namespace Wal.Sinks.Tests;

/// <summary>
/// <see cref="MemcachedSink.DeliverInOrderAsync"/> against a real memcached: pipelined writes must
/// leave every key, and answer every delivery, as delivering them one at a time would.
/// </summary>
public sealed class MemcachedSinkInOrderTests : IClassFixture<MemcachedServerFixture>, IAsyncLifetime
{
    private readonly MemcachedServerFixture _server;
    private readonly MemcachedSinkKit _kit;

    public MemcachedSinkInOrderTests(MemcachedServerFixture server)
    {
        _server = server;
        _kit = new MemcachedSinkKit(server, "in-order:", "a", "b");
    }

    [Fact]
    public async Task DeliverInOrderAsync_OperationTimeoutTimesBatchPastTheLongestTimer_Delivered()
    {
        // 30 days x 2 writes is past the 49.7 days CancelAfter takes; DeliverAsync took the same options.
        var sink = _kit.NewSink(operationTimeout: TimeSpan.FromDays(30));
        var deliveries = new[] { Deliver(_kit.NewTarget("a"), "x", NextVersion()), Deliver(_kit.NewTarget("a"), "y", NextVersion()) };

        var results = await sink.DeliverInOrderAsync(deliveries);

        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal("y", await _kit.ReadAsync(deliveries[1].Target));
    }

    [Fact]
    public async Task DeliverInOrderAsync_OperationTimeoutPastTheLongestTimer_FallbackToReadCompareWriteDelivered()
    {
        // The add of a key another writer holds falls back to read-compare-write, under one OperationTimeout of its own.
        var sink = _kit.NewSink(operationTimeout: TimeSpan.FromDays(60));
        var held = _kit.NewTarget("a");
        Assert.True((await _kit.NewSink().DeliverAsync(Deliver(held, "theirs", NextVersion()))).Succeeded);
        var deliveries = new[] { Deliver(_kit.NewTarget("a"), "x", NextVersion()), Deliver(held, "ours", NextVersion()) };

        var results = await sink.DeliverInOrderAsync(deliveries);

        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal("ours", await _kit.ReadAsync(held));
    }

    [Fact]
    public async Task DeliverInOrderAsync_NewKeysOnTwoClusters_AllDeliveredWithOneSetEachAndNoRead()
    {
        var sink = _kit.NewSink();
        var deliveries = Enumerable.Range(0, 10).Select(i => Deliver(_kit.NewTarget(i % 2 == 0 ? "a" : "b"), $"v{i}", NextVersion())).ToArray();
        var getsBefore = await _server.StatAsync("cmd_get");
        var setsBefore = await _server.StatAsync("cmd_set");

        var results = await sink.DeliverInOrderAsync(deliveries);

        Assert.Equal(deliveries.Length, results.Count);
        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);
        Assert.Equal(deliveries.Length, await _server.StatAsync("cmd_set") - setsBefore);
        for (var i = 0; i < deliveries.Length; i++)
        {
            Assert.Equal($"v{i}", await _kit.ReadAsync(deliveries[i].Target));
        }
    }

    [Fact]
    public async Task DeliverInOrderAsync_BatchFarLongerThanOneWritesTimeout_AllDelivered()
    {
        // 4 MB in 1,000 writes cannot land within one write's 2 ms; each write still has its 2 ms. One deadline for the
        // whole batch failed every attempt of such a mutation as retriable, until it was dead-lettered.
        var sink = _kit.NewSink(operationTimeout: TimeSpan.FromMilliseconds(2));
        var value = new string('x', 4096);
        var deliveries = Enumerable.Range(0, 1_000).Select(_ => Deliver(_kit.NewTarget(), value, NextVersion())).ToArray();

        var results = await sink.DeliverInOrderAsync(deliveries);

        Assert.Equal(deliveries.Length, results.Count);
        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal(value, await _kit.ReadAsync(deliveries[^1].Target));
    }

    [Fact]
    public async Task DeliverInOrderAsync_TwoClustersOnOneServer_ShareOneClientsConnections()
    {
        var sink = _kit.NewSink();
        var before = await _server.StatAsync("total_connections");

        for (var round = 0; round < 4; round++)
        {
            var results = await sink.DeliverInOrderAsync([.. Enumerable.Range(0, 4).Select(i => Deliver(_kit.NewTarget(i % 2 == 0 ? "a" : "b"), "x", NextVersion()))]);
            Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        }

        // Two pooled connections (not two per cluster), plus the stats call's own.
        Assert.Equal(3, await _server.StatAsync("total_connections") - before);
    }

    [Fact]
    public async Task DeliverInOrderAsync_RewritesOfKeysItJustWrote_OneCompareAndSetEachAndNoRead()
    {
        var sink = _kit.NewSink();
        // The pool's connections (2) opened first: a CAS token is trusted only under the connection
        // generation it was planned in, and each new connection moves it.
        for (var i = 0; i < 2; i++)
        {
            Assert.True((await sink.DeliverAsync(Deliver(_kit.NewTarget(), "warm", NextVersion()))).Succeeded);
        }

        var targets = Enumerable.Range(0, 10).Select(_ => _kit.NewTarget()).ToArray();
        Assert.All(await sink.DeliverInOrderAsync([.. targets.Select(t => Deliver(t, "one", NextVersion()))]), r => Assert.True(r.Succeeded));
        var getsBefore = await _server.StatAsync("cmd_get");
        var setsBefore = await _server.StatAsync("cmd_set");

        var results = await sink.DeliverInOrderAsync([.. targets.Select(t => Deliver(t, "two", NextVersion()))]);

        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);
        Assert.Equal(targets.Length, await _server.StatAsync("cmd_set") - setsBefore);
        Assert.Equal("two", await _kit.ReadAsync(targets[^1]));
    }

    [Fact]
    public async Task DeliverInOrderAsync_OneKeyTwice_EndsAsOneAtATime()
    {
        var rising = _kit.NewTarget();
        var falling = _kit.NewTarget();
        var same = _kit.NewTarget();
        var v = NextVersion();

        var results = await _kit.NewSink().DeliverInOrderAsync(
        [
            Deliver(rising, "first", v), Deliver(falling, "newer", v + 1), Deliver(same, "first copy", v),
            Deliver(rising, "second", v + 1), Deliver(falling, "older", v), Deliver(same, "second copy", v),
        ]);

        Assert.Equal(
            [DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Superseded, DeliveryOutcome.Delivered],
            results.Select(r => r.Outcome));
        Assert.Equal("second", await _kit.ReadAsync(rising));
        Assert.Equal("newer", await _kit.ReadAsync(falling));
        // One version is one value: the second copy finds its version stored and writes nothing.
        Assert.Equal("first copy", await _kit.ReadAsync(same));
    }

    [Fact]
    public async Task DeliverInOrderAsync_KeysOtherWritersHold_NewerSupersedeOlderAreOverwritten()
    {
        var targets = Enumerable.Range(0, 6).Select(_ => _kit.NewTarget()).ToArray();
        var v = NextVersion();
        var other = _kit.NewSink();
        Assert.True((await other.DeliverAsync(Deliver(targets[1], "theirs newer", v + 5))).Succeeded);
        Assert.True((await other.DeliverAsync(Deliver(targets[3], "theirs older", v - 5))).Succeeded);
        Assert.True((await other.DeliverAsync(Deliver(AsDelete(targets[4]), string.Empty, v + 5))).Succeeded);

        var results = await _kit.NewSink().DeliverInOrderAsync([.. targets.Select((t, i) => Deliver(t, $"ours {i}", v))]);

        Assert.Equal(
            [DeliveryOutcome.Delivered, DeliveryOutcome.Superseded, DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Superseded, DeliveryOutcome.Delivered],
            results.Select(r => r.Outcome));
        string?[] expected = ["ours 0", "theirs newer", "ours 2", "ours 3", null, "ours 5"];
        Assert.Equal(expected, await Task.WhenAll(targets.Select(_kit.ReadAsync)));
    }

    [Fact]
    public async Task DeliverInOrderAsync_RandomMixOfKeysVersionsAndDeletes_SameOutcomesAndItemsAsOneAtATime()
    {
        var random = new Random(20261122);
        for (var round = 0; round < 20; round++)
        {
            var keys = Enumerable.Range(0, 4).Select(_ => Guid.NewGuid().ToString("N")).ToArray();
            var v = NextVersion();
            var script = Enumerable.Range(0, 12)
                .Select(i => (Key: keys[random.Next(keys.Length)], Version: v + random.Next(4), Delete: random.Next(4) == 0, Payload: $"p{i}"))
                .ToArray();
            var preset = keys.Where(_ => random.Next(2) == 0).Select(k => (Key: k, Version: v + random.Next(4))).ToArray();

            var pipelined = await RunAsync("pipe", script, preset, (sink, deliveries) => sink.DeliverInOrderAsync(deliveries).AsTask());
            var oneByOne = await RunAsync("one", script, preset, async (sink, deliveries) =>
            {
                var results = new List<DeliveryResult>();
                foreach (var delivery in deliveries)
                {
                    results.Add(await sink.DeliverAsync(delivery));
                }

                return results;
            });

            Assert.Equal(oneByOne.Outcomes, pipelined.Outcomes);
            Assert.Equal(oneByOne.Items, pipelined.Items);
        }
    }

    [Fact]
    public async Task DeliverInOrderAsync_InvalidKeyInTheMiddle_PermanentThereAndLaterNotWritten()
    {
        var targets = Enumerable.Range(0, 5).Select(_ => _kit.NewTarget()).ToArray();
        targets[2].Memcached.Key = "has space";

        var results = await _kit.NewSink().DeliverInOrderAsync([.. targets.Select(t => Deliver(t, "x", NextVersion()))]);

        Assert.Equal(3, results.Count);
        Assert.True(results[0].Succeeded && results[1].Succeeded);
        Assert.Equal(DeliveryOutcome.PermanentFailure, results[2].Outcome);
        Assert.Contains("whitespace", results[2].Error);
        Assert.Equal("x", await _kit.ReadAsync(targets[1]));
        Assert.Null(await _kit.ReadAsync(targets[3]));
    }

    [Fact]
    public async Task DeliverInOrderAsync_ValueAboveItemLimitInTheMiddle_PermanentThereAndEarlierStored()
    {
        var targets = Enumerable.Range(0, 4).Select(_ => _kit.NewTarget()).ToArray();
        var deliveries = targets.Select(t => Deliver(t, "small", NextVersion())).ToArray();
        deliveries[2] = deliveries[2] with { Payload = new byte[2 * 1024 * 1024] };

        var results = await _kit.NewSink().DeliverInOrderAsync(deliveries);

        Assert.Equal(3, results.Count);
        Assert.Equal(DeliveryOutcome.PermanentFailure, results[2].Outcome);
        Assert.Contains("too large", results[2].Error);
        Assert.Equal("small", await _kit.ReadAsync(targets[1]));
        // The connection is still good: the next call goes through.
        Assert.All(await _kit.NewSink().DeliverInOrderAsync([Deliver(_kit.NewTarget(), "after", NextVersion()), Deliver(_kit.NewTarget(), "after", NextVersion())]), r => Assert.True(r.Succeeded));
    }

    [Fact]
    public async Task DeliverInOrderAsync_MemcachedDown_RetriableAtTheFirstThenDeliveredWhenBack()
    {
        var sink = _kit.NewSink();
        Assert.True((await sink.DeliverAsync(Deliver(_kit.NewTarget(), "warm", NextVersion()))).Succeeded);
        var deliveries = Enumerable.Range(0, 4).Select(_ => Deliver(_kit.NewTarget(), "x", NextVersion())).ToArray();

        await _server.StopAsync();
        IReadOnlyList<DeliveryResult> down;
        try
        {
            down = await sink.DeliverInOrderAsync(deliveries);
        }
        finally
        {
            await _server.StartAsync();
        }

        var back = await sink.DeliverInOrderAsync(deliveries);

        Assert.Equal(DeliveryOutcome.RetriableFailure, Assert.Single(down).Outcome);
        Assert.Contains("memcached", down[0].Error);
        Assert.All(back, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal(deliveries.Length, back.Count);
    }

    [Fact]
    public async Task DeliverInOrderAsync_OneLargeMutation_NotKeptAllocatedOnceDelivered()
    {
        // A mutation's writes go out as one pipelined request; framed whole, it grew its connection's buffer to the
        // mutation's size, which the connection then kept for good (32 MiB after this 24 MiB mutation).
        var sink = _kit.NewSink();
        Assert.True((await sink.DeliverAsync(Deliver(_kit.NewTarget(), "warm", NextVersion()))).Succeeded);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        await DeliverLargeMutationAsync(sink);

        // Just after the call the connection's loops may still be finishing their last step with the mutation in
        // hand (and other tests run alongside): what matters is what stays.
        var retained = 0L;
        await Eventually.WaitUntilAsync(
            () => Task.FromResult((retained = GC.GetTotalMemory(forceFullCollection: true) - before) < 8 * 1024 * 1024),
            TimeSpan.FromSeconds(10),
            () => $"the memory of a delivered 24 MiB mutation to be let go; {retained / (1024 * 1024)} MiB still retained",
            TimeSpan.FromMilliseconds(100));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    /// <summary>Presets keys through another sink, runs the script through a fresh one, and reads every key back.</summary>
    private async Task<(List<DeliveryOutcome> Outcomes, List<string?> Items)> RunAsync(
        string space,
        (string Key, long Version, bool Delete, string Payload)[] script,
        (string Key, long Version)[] preset,
        Func<MemcachedSink, Delivery[], Task<IReadOnlyList<DeliveryResult>>> deliver)
    {
        Target TargetOf(string key, bool delete) => delete ? AsDelete(_kit.TargetOf($"{space}:{key}")) : _kit.TargetOf($"{space}:{key}");

        var other = _kit.NewSink();
        foreach (var (key, version) in preset)
        {
            Assert.True((await other.DeliverAsync(Deliver(TargetOf(key, false), "preset", version))).Succeeded);
        }

        var results = await deliver(_kit.NewSink(), [.. script.Select(s => Deliver(TargetOf(s.Key, s.Delete), s.Payload, s.Version))]);
        var items = new List<string?>();
        foreach (var key in script.Select(s => s.Key).Distinct())
        {
            items.Add(await _kit.ReadAsync(TargetOf(key, false)));
        }

        return ([.. results.Select(r => r.Outcome)], items);
    }

    /// <summary>48 new keys of 512 KiB each, in one call: one pipelined request. Its own method, so nothing of it stays reachable from the test.</summary>
    private async Task DeliverLargeMutationAsync(MemcachedSink sink)
    {
        var chunks = Enumerable.Range(0, 48)
            .Select(_ => new Delivery(Guid.NewGuid().ToString("N"), _kit.NewTarget(), new byte[512 * 1024], NextVersion()))
            .ToArray();

        var results = await sink.DeliverInOrderAsync(chunks);

        Assert.Equal(chunks.Length, results.Count);
        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
    }
}
