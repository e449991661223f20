using System.Text;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;

namespace Wal.Sinks.Tests;

/// <summary>
/// <see cref="MemcachedSink.DeliverInOrderAsync"/> against a real memcached: pipelined writes must
/// leave every key, and answer every delivery, as delivering them one at a time would.
/// </summary>
public sealed class MemcachedSinkInOrderTests : IClassFixture<MemcachedServerFixture>, IAsyncLifetime
{
    private static long _versions = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private readonly MemcachedServerFixture _server;
    private readonly List<MemcachedSink> _sinks = [];
    private readonly MemcachedClient _reader;

    public MemcachedSinkInOrderTests(MemcachedServerFixture server)
    {
        _server = server;
        _reader = new MemcachedClient(new MemcachedClientOptions { Servers = [server.Server] });
    }

    [Fact]
    public async Task DeliverInOrderAsync_NewKeysOnTwoClusters_AllDeliveredWithOneSetEachAndNoRead()
    {
        var sink = NewSink();
        var deliveries = Enumerable.Range(0, 10).Select(i => Deliver(NewTarget(i % 2 == 0 ? "a" : "b"), $"v{i}", NextVersion())).ToArray();
        var getsBefore = await _server.StatAsync("cmd_get");
        var setsBefore = await _server.StatAsync("cmd_set");

        var results = await sink.DeliverInOrderAsync(deliveries);

        Assert.Equal(deliveries.Length, results.Count);
        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);
        Assert.Equal(deliveries.Length, await _server.StatAsync("cmd_set") - setsBefore);
        for (var i = 0; i < deliveries.Length; i++)
        {
            Assert.Equal($"v{i}", await ReadAsync(deliveries[i].Target));
        }
    }

    [Fact]
    public async Task DeliverInOrderAsync_TwoClustersOnOneServer_ShareOneClientsConnections()
    {
        var sink = NewSink();
        var before = await _server.StatAsync("total_connections");

        for (var round = 0; round < 4; round++)
        {
            var results = await sink.DeliverInOrderAsync([.. Enumerable.Range(0, 4).Select(i => Deliver(NewTarget(i % 2 == 0 ? "a" : "b"), "x", NextVersion()))]);
            Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        }

        // Two pooled connections (not two per cluster), plus the stats call's own.
        Assert.Equal(3, await _server.StatAsync("total_connections") - before);
    }

    [Fact]
    public async Task DeliverInOrderAsync_RewritesOfKeysItJustWrote_OneCompareAndSetEachAndNoRead()
    {
        var sink = NewSink();
        // The pool's connections (2) opened first: a CAS token is trusted only under the connection
        // generation it was planned in, and each new connection moves it.
        for (var i = 0; i < 2; i++)
        {
            Assert.True((await sink.DeliverAsync(Deliver(NewTarget(), "warm", NextVersion()))).Succeeded);
        }

        var targets = Enumerable.Range(0, 10).Select(_ => NewTarget()).ToArray();
        Assert.All(await sink.DeliverInOrderAsync([.. targets.Select(t => Deliver(t, "one", NextVersion()))]), r => Assert.True(r.Succeeded));
        var getsBefore = await _server.StatAsync("cmd_get");
        var setsBefore = await _server.StatAsync("cmd_set");

        var results = await sink.DeliverInOrderAsync([.. targets.Select(t => Deliver(t, "two", NextVersion()))]);

        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal(0, await _server.StatAsync("cmd_get") - getsBefore);
        Assert.Equal(targets.Length, await _server.StatAsync("cmd_set") - setsBefore);
        Assert.Equal("two", await ReadAsync(targets[^1]));
    }

    [Fact]
    public async Task DeliverInOrderAsync_OneKeyTwice_EndsAsOneAtATime()
    {
        var rising = NewTarget();
        var falling = NewTarget();
        var same = NewTarget();
        var v = NextVersion();

        var results = await NewSink().DeliverInOrderAsync(
        [
            Deliver(rising, "first", v), Deliver(falling, "newer", v + 1), Deliver(same, "first copy", v),
            Deliver(rising, "second", v + 1), Deliver(falling, "older", v), Deliver(same, "second copy", v),
        ]);

        Assert.Equal(
            [DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Superseded, DeliveryOutcome.Delivered],
            results.Select(r => r.Outcome));
        Assert.Equal("second", await ReadAsync(rising));
        Assert.Equal("newer", await ReadAsync(falling));
        // One version is one value: the second copy finds its version stored and writes nothing.
        Assert.Equal("first copy", await ReadAsync(same));
    }

    [Fact]
    public async Task DeliverInOrderAsync_KeysOtherWritersHold_NewerSupersedeOlderAreOverwritten()
    {
        var targets = Enumerable.Range(0, 6).Select(_ => NewTarget()).ToArray();
        var v = NextVersion();
        var other = NewSink();
        Assert.True((await other.DeliverAsync(Deliver(targets[1], "theirs newer", v + 5))).Succeeded);
        Assert.True((await other.DeliverAsync(Deliver(targets[3], "theirs older", v - 5))).Succeeded);
        Assert.True((await other.DeliverAsync(Deliver(AsDelete(targets[4]), string.Empty, v + 5))).Succeeded);

        var results = await NewSink().DeliverInOrderAsync([.. targets.Select((t, i) => Deliver(t, $"ours {i}", v))]);

        Assert.Equal(
            [DeliveryOutcome.Delivered, DeliveryOutcome.Superseded, DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.Superseded, DeliveryOutcome.Delivered],
            results.Select(r => r.Outcome));
        string?[] expected = ["ours 0", "theirs newer", "ours 2", "ours 3", null, "ours 5"];
        Assert.Equal(expected, await Task.WhenAll(targets.Select(ReadAsync)));
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
        var targets = Enumerable.Range(0, 5).Select(_ => NewTarget()).ToArray();
        targets[2].Memcached.Key = "has space";

        var results = await NewSink().DeliverInOrderAsync([.. targets.Select(t => Deliver(t, "x", NextVersion()))]);

        Assert.Equal(3, results.Count);
        Assert.True(results[0].Succeeded && results[1].Succeeded);
        Assert.Equal(DeliveryOutcome.PermanentFailure, results[2].Outcome);
        Assert.Contains("whitespace", results[2].Error);
        Assert.Equal("x", await ReadAsync(targets[1]));
        Assert.Null(await ReadAsync(targets[3]));
    }

    [Fact]
    public async Task DeliverInOrderAsync_ValueAboveItemLimitInTheMiddle_PermanentThereAndEarlierStored()
    {
        var targets = Enumerable.Range(0, 4).Select(_ => NewTarget()).ToArray();
        var deliveries = targets.Select(t => Deliver(t, "small", NextVersion())).ToArray();
        deliveries[2] = deliveries[2] with { Payload = new byte[2 * 1024 * 1024] };

        var results = await NewSink().DeliverInOrderAsync(deliveries);

        Assert.Equal(3, results.Count);
        Assert.Equal(DeliveryOutcome.PermanentFailure, results[2].Outcome);
        Assert.Contains("too large", results[2].Error);
        Assert.Equal("small", await ReadAsync(targets[1]));
        // The connection is still good: the next call goes through.
        Assert.All(await NewSink().DeliverInOrderAsync([Deliver(NewTarget(), "after", NextVersion()), Deliver(NewTarget(), "after", NextVersion())]), r => Assert.True(r.Succeeded));
    }

    [Fact]
    public async Task DeliverInOrderAsync_MemcachedDown_RetriableAtTheFirstThenDeliveredWhenBack()
    {
        var sink = NewSink();
        Assert.True((await sink.DeliverAsync(Deliver(NewTarget(), "warm", NextVersion()))).Succeeded);
        var deliveries = Enumerable.Range(0, 4).Select(_ => Deliver(NewTarget(), "x", NextVersion())).ToArray();

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

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var sink in _sinks)
        {
            await sink.DisposeAsync();
        }

        await _reader.DisposeAsync();
    }

    /// <summary>Presets keys through another sink, runs the script through a fresh one, and reads every key back.</summary>
    private async Task<(List<DeliveryOutcome> Outcomes, List<string?> Items)> RunAsync(
        string space,
        (string Key, long Version, bool Delete, string Payload)[] script,
        (string Key, long Version)[] preset,
        Func<MemcachedSink, Delivery[], Task<IReadOnlyList<DeliveryResult>>> deliver)
    {
        Target TargetOf(string key, bool delete) => new()
        {
            Memcached = new MemcachedTarget { Cluster = "a", Key = $"in-order:{space}:{key}", Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)), Delete = delete },
        };

        var other = NewSink();
        foreach (var (key, version) in preset)
        {
            Assert.True((await other.DeliverAsync(Deliver(TargetOf(key, false), "preset", version))).Succeeded);
        }

        var results = await deliver(NewSink(), [.. script.Select(s => Deliver(TargetOf(s.Key, s.Delete), s.Payload, s.Version))]);
        var items = new List<string?>();
        foreach (var key in script.Select(s => s.Key).Distinct())
        {
            items.Add(await ReadAsync(TargetOf(key, false)));
        }

        return ([.. results.Select(r => r.Outcome)], items);
    }

    private MemcachedSink NewSink()
    {
        var sink = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions>
            {
                ["a"] = new() { Servers = [_server.Server] },
                ["b"] = new() { Servers = [_server.Server] },
            },
            // Generous: the machine running the tests may be busy, and a timeout reads as retriable.
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        _sinks.Add(sink);
        return sink;
    }

    private static Target NewTarget(string cluster = "a") => new()
    {
        Memcached = new MemcachedTarget { Cluster = cluster, Key = "in-order:" + Guid.NewGuid().ToString("N"), Ttl = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) },
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
