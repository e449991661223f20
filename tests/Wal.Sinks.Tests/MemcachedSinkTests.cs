using Wal.Schemas.V1;
using Wal.Sinks.Memcached;

namespace Wal.Sinks.Tests;

public sealed class MemcachedSinkTests : VersionGuardedSinkContractTests, IClassFixture<MemcachedServerFixture>, IAsyncLifetime
{
    private readonly MemcachedServerFixture _server;
    private readonly MemcachedSinkKit _kit;
    private readonly MemcachedSink _sink;

    public MemcachedSinkTests(MemcachedServerFixture server)
    {
        _server = server;
        _kit = new MemcachedSinkKit(server, "sink-test:", "main");
        _sink = _kit.NewSink();
    }

    protected override ISink Sink => _sink;

    protected override Target NewTarget() => _kit.NewTarget();

    protected override Target AsDelete(Target target) => MemcachedSinkKit.AsDelete(target);

    protected override Task<byte[]?> ReadCurrentAsync(Target target) => _kit.ReadPayloadAsync(target);

    protected override Task StopTargetAsync() => _server.StopAsync();

    protected override Task StartTargetAsync() => _server.StartAsync();

    [Fact]
    public async Task DeliverAsync_InvalidKey_PermanentFailure()
    {
        var target = NewTarget();
        target.Memcached.Key = "has space";

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("whitespace", result.Error);
    }

    [Fact]
    public async Task DeliverAsync_KeyWithLoneSurrogate_PermanentFailure()
    {
        // A lone surrogate has no UTF-8 form: "k\uD800" and "k\uDC00" were both written as "k\uFFFD", one item
        // for two keys, so each overwrote the other.
        var id = Guid.NewGuid().ToString("N");
        foreach (var key in new[] { id + "\uD800", id + "\uDC00", id + "\uDC00\uD800" })
        {
            var result = await _sink.DeliverAsync(NewDelivery(_kit.TargetOf(key), "x"));

            Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
            Assert.Contains("lone surrogate", result.Error);
        }

        Assert.Null(await _kit.Reader.GetAsync(_kit.TargetOf(id + "\uFFFD").Memcached.Key));
    }

    // The ingress refuses such a TTL; one written around it (a redrive of an old record, another producer) was sent as
    // T0, so an item asked to expire at once never expired, or threw out of the sink and was retried until dead-lettered.
    [Theory]
    [InlineData(-5L, 0)]
    [InlineData(1L, -1)]
    public async Task DeliverAsync_TtlNegativeOrNotNormalized_PermanentFailureNothingStored(long seconds, int nanos)
    {
        var target = NewTarget();
        target.Memcached.Ttl = new Google.Protobuf.WellKnownTypes.Duration { Seconds = seconds, Nanos = nanos };

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("ttl", result.Error, StringComparison.Ordinal);
        Assert.Null(await _kit.Reader.GetAsync(target.Memcached.Key));
    }

    [Fact]
    public async Task DeliverAsync_ValueAboveItemLimit_PermanentFailure()
    {
        var delivery = new Delivery("big", NewTarget(), new byte[2 * 1024 * 1024], NextVersion());

        var result = await _sink.DeliverAsync(delivery);

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("too large", result.Error);
    }

    [Fact]
    public async Task DeliverAsync_ValueAboveItemLimit_StoredNewerVersionStaysAndStillGuards()
    {
        // memcached drops a key's item when a write to it is too large: the newer version stored must survive the
        // refused write, so that a late older version is still superseded.
        var target = NewTarget();
        var older = NextVersion();
        var newer = NextVersion();
        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(new Delivery("newer", target, "newer"u8.ToArray(), newer))).Outcome);

        var tooLarge = await _sink.DeliverAsync(new Delivery("big", target, new byte[2 * 1024 * 1024], NextVersion()));
        var late = await _sink.DeliverAsync(new Delivery("older", target, "older"u8.ToArray(), older));

        Assert.Equal(DeliveryOutcome.PermanentFailure, tooLarge.Outcome);
        Assert.Contains("nothing was sent", tooLarge.Error);
        Assert.Equal(DeliveryOutcome.Superseded, late.Outcome);
        Assert.Equal("newer", await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_OperationTimeoutPastTheLongestTimer_Delivered()
    {
        // 60 days is past the 49.7 days (2^32 ms) CancellationTokenSource.CancelAfter takes.
        var sink = _kit.NewSink(operationTimeout: TimeSpan.FromDays(60));
        var target = NewTarget();

        var result = await sink.DeliverAsync(MemcachedSinkKit.Deliver(target, "x", MemcachedSinkKit.NextVersion()));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("x", await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_ServerGivenByHostName_Delivered()
    {
        // As docker-compose names its servers (memcached-a:11211); a host name once failed to make a socket at all.
        var sink = _kit.NewSink($"localhost:{_server.Port}");
        var target = NewTarget();

        var result = await sink.DeliverAsync(NewDelivery(target, "by name"));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("by name", await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_HostNameThatDoesNotResolve_RetriableFailure()
    {
        var sink = _kit.NewSink("no-such-memcached.invalid:11211");

        var result = await sink.DeliverAsync(NewDelivery(NewTarget(), "x"));

        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Contains("no-such-memcached.invalid", result.Error);
    }

    [Fact]
    public async Task DeliverAsync_UnknownCluster_PermanentFailure()
    {
        var target = NewTarget();
        target.Memcached.Cluster = "elsewhere";

        var result = await _sink.DeliverAsync(NewDelivery(target, "x"));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("elsewhere", result.Error);
    }

    [Fact]
    public async Task DeliverAsync_ConcurrentVersionsOfOneKey_NewestWins()
    {
        var target = NewTarget();
        var versions = Enumerable.Range(0, 40).Select(_ => NextVersion()).ToArray();
        var shuffled = versions.OrderBy(_ => Random.Shared.Next()).ToArray();

        var results = await Task.WhenAll(shuffled.Select(v => _sink.DeliverAsync(NewDelivery(target, v.ToString(), v)).AsTask()));

        Assert.All(results, r => Assert.True(r.Outcome is DeliveryOutcome.Delivered or DeliveryOutcome.Superseded or DeliveryOutcome.RetriableFailure, r.Error));
        // Contention may leave some retriable; redeliver those as the retry path would.
        foreach (var (version, result) in shuffled.Zip(results).Where(p => p.Second.Outcome == DeliveryOutcome.RetriableFailure))
        {
            Assert.True((await _sink.DeliverAsync(NewDelivery(target, version.ToString(), version))).Succeeded);
        }

        Assert.Equal(versions.Max().ToString(), Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DeliverAsync_MemcachedKilledAndRestartedOnSamePort_DownIsRetriableAndNextDeliverySucceeds()
    {
        var target = NewTarget();
        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(target, "before"))).Outcome);

        await _server.StopAsync();
        var down = await _sink.DeliverAsync(NewDelivery(target, "during"));
        await _server.StartAsync();
        var next = await _sink.DeliverAsync(NewDelivery(target, "after"));

        Assert.Equal(DeliveryOutcome.RetriableFailure, down.Outcome);
        Assert.Contains("memcached", down.Error);
        Assert.Equal(DeliveryOutcome.Delivered, next.Outcome);
        Assert.Equal("after", Text(await ReadCurrentAsync(target)));
    }

    // Past 30 days a TTL goes as an absolute time, which memcached holds in 32 signed bits: one
    // past 2038 wrapped negative, the item was stored already expired, and the sink said Delivered.
    [Fact]
    public async Task DeliverAsync_TwentyYearTtl_ValueIsThereAndItsTombstoneGuards()
    {
        var target = NewTarget();
        target.Memcached.Ttl = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromDays(365 * 20));
        var older = MemcachedSinkKit.NextVersion();
        var newer = MemcachedSinkKit.NextVersion();

        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(MemcachedSinkKit.Deliver(target, "kept", older))).Outcome);
        Assert.Equal("kept", await _kit.ReadAsync(target));
        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(MemcachedSinkKit.Deliver(AsDelete(target), "", newer))).Outcome);
        var late = await _sink.DeliverAsync(MemcachedSinkKit.Deliver(target, "stale", older));

        Assert.Equal(DeliveryOutcome.Superseded, late.Outcome);
        Assert.Null(await _kit.ReadAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_RewritesOfKeysItJustWrote_SkipTheVersionRead()
    {
        var targets = Enumerable.Range(0, 200).Select(_ => NewTarget()).ToArray();
        foreach (var target in targets)
        {
            Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(target, "first"))).Outcome);
        }

        var getsBefore = await _server.StatAsync("cmd_get");
        foreach (var target in targets)
        {
            Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(target, "second"))).Outcome);
        }

        // Only entries written before the pool had opened all its connections (2) are distrusted.
        Assert.InRange(await _server.StatAsync("cmd_get") - getsBefore, 0, 2);
        Assert.Equal("second", Text(await ReadCurrentAsync(targets[^1])));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // through DeliverInOrderAsync's pipelined batch
    public async Task DeliverAsync_AfterRestartReusedCasToken_OlderStillSuperseded(bool inOrder)
    {
        // A restarted memcached counts CAS tokens from 1 again. Make another writer's newer item
        // get exactly the token this sink remembers for the key, and check the sink is not fooled.
        // Every pooled connection is opened first, so the token is remembered under the generation that the first write
        // after the restart plans with; that write then goes out on a connection opened after it.
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(NewTarget(), "warm-up"))).Outcome);
        }

        var target = NewTarget();
        var older = NextVersion();
        var remembered = NewDelivery(target, "remembered", older - 5);
        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(remembered)).Outcome);
        var cas = (await _kit.Reader.GetAsync(target.Memcached.Key))!.Cas;
        await _server.StopAsync();
        await _server.StartAsync();
        await using (var other = new MemcachedClient(new MemcachedClientOptions { Servers = [_server.Server], ConnectionsPerServer = 1 }))
        {
            while ((await other.SetAsync("filler", "x"u8.ToArray())).Cas < cas - 1)
            {
            }

            var newer = VersionedValue.Encode(NextVersion(), "newer"u8, tombstone: false);
            var stored = await other.SetAsync(target.Memcached.Key, newer, new MemcachedSetOptions { ClientFlags = VersionedValue.ClientFlags });
            Assert.Equal(cas, stored.Cas);
        }

        var result = await DeliverUntilReachedAsync(NewDelivery(target, "older", older), inOrder);

        Assert.Equal(DeliveryOutcome.Superseded, result.Outcome);
        Assert.Equal("newer", Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DeliverAsync_ServerRestartsBetweenReadAndCompareAndSet_OlderStillSuperseded()
    {
        // The token an mg read must not go out on a connection opened after the mg was sent: there, a restarted
        // server may have handed the same token to another writer's newer item.
        var target = NewTarget();
        var v1 = NextVersion();
        var v2 = v1 + 1;
        var v3 = v1 + 2;
        Assert.Equal(DeliveryOutcome.Delivered, (await _sink.DeliverAsync(NewDelivery(target, "v1", v1))).Outcome);
        var oldCas = (await _kit.Reader.GetAsync(target.Memcached.Key))!.Cas;

        // One connection per server, so the victim's compare-and-set goes out on the connection its client reopened.
        await using var victim = new MemcachedSink(new MemcachedSinkOptions
        {
            Clusters = new Dictionary<string, MemcachedClusterOptions> { ["main"] = new() { Servers = [_server.Server], ConnectionsPerServer = 1 } },
            OperationTimeout = TimeSpan.FromSeconds(10),
        });
        var getsBefore = await _server.StatAsync("cmd_get");
        var restarted = false;
        Exception? hookError = null;
        using var context = new SteppingContext();
        context.BeforeEach = () =>
        {
            // The first continuation after the victim's mg was answered (the add before it found the key): the
            // server restarts, another writer stores v3 (on the fresh server it gets the CAS the old item had), and
            // the victim's client opens its new connection, all before the victim sends its compare-and-set.
            if (restarted || Task.Run(() => _server.StatAsync("cmd_get")).GetAwaiter().GetResult() == getsBefore)
            {
                return;
            }

            restarted = true;
            hookError = Record.Exception(() => Task.Run(async () =>
            {
                await _server.StopAsync();
                await _server.StartAsync();
                await using var raw = new MemcachedClient(new MemcachedClientOptions { Servers = [_server.Server], ConnectionsPerServer = 1 });
                // A fresh memcached hands out CAS tokens from 1: take tokens until the next one is the old item's.
                for (var cas = 0UL; cas + 1 < oldCas;)
                {
                    cas = (await raw.SetAsync("filler", "f"u8.ToArray())).Cas;
                }

                Assert.Equal(DeliveryOutcome.Delivered, (await _kit.NewSink().DeliverAsync(NewDelivery(target, "v3", v3))).Outcome);
                Assert.Equal(oldCas, (await raw.GetAsync(target.Memcached.Key))!.Cas);
                await Eventually.WaitUntilAsync(
                    async () => (await victim.DeliverAsync(NewDelivery(NewTarget(), "other"))).Succeeded,
                    TimeSpan.FromSeconds(10),
                    "the victim's client to reconnect");
            }).GetAwaiter().GetResult());
        };

        var result = await context.Run(() => victim.DeliverAsync(NewDelivery(target, "v2", v2)).AsTask());

        Assert.True(restarted, "the server was not restarted between the read and the compare-and-set");
        Assert.Null(hookError);
        Assert.Equal(DeliveryOutcome.Superseded, result.Outcome);
        Assert.Equal("v3", Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DisposeAsync_WhileAConnectionIsBeingOpened_LeaksNoConnectionAndDeliveryFailsRetriably()
    {
        // A connection that finished opening after the sink was disposed was stored anyway, and kept its socket and
        // loops for good; the delivery that opened it threw ObjectDisposedException out of the sink.
        var connectionsBefore = await _server.StatAsync("curr_connections");
        Task<DeliveryResult>? delivery = null;
        var disposedInWindow = false;
        // A loopback connect sometimes completes synchronously, leaving no continuation to dispose in: try again then.
        for (var attempt = 0; attempt < 50 && !disposedInWindow; attempt++)
        {
            var sink = _kit.NewSink();
            var setsBefore = await _server.StatAsync("cmd_set");
            var step = 0;
            using var context = new SteppingContext();
            context.BeforeEach = () =>
            {
                // Step 1 starts the delivery; step 2 is its first continuation. When nothing was written yet, that is the
                // socket connect finishing, before the connection is stored in its slot: dispose the sink then.
                if (++step == 2 && Task.Run(() => _server.StatAsync("cmd_set")).GetAwaiter().GetResult() == setsBefore)
                {
                    disposedInWindow = true;
                    Task.Run(() => sink.DisposeAsync().AsTask()).GetAwaiter().GetResult();
                }
            };

            delivery = context.Run(() => sink.DeliverAsync(NewDelivery(NewTarget(), "v")).AsTask());
            await Record.ExceptionAsync(() => delivery);
            if (!disposedInWindow)
            {
                await sink.DisposeAsync();
            }
        }

        Assert.True(disposedInWindow, "no attempt had its connect complete asynchronously");
        var result = await delivery!;
        Assert.Equal(DeliveryOutcome.RetriableFailure, result.Outcome);
        Assert.Contains("disposed", result.Error);
        await Eventually.WaitUntilAsync(
            async () => await _server.StatAsync("curr_connections") <= connectionsBefore,
            TimeSpan.FromSeconds(5),
            "the disposed sink's connections to close");
    }

    public Task InitializeAsync() => _server.StartAsync();

    private async Task<DeliveryResult> DeliverUntilReachedAsync(Delivery delivery, bool inOrder = false)
    {
        // Connections that died with the old server fail their next request once, retriably.
        for (var attempt = 0; ; attempt++)
        {
            var result = inOrder ? (await _sink.DeliverInOrderAsync([delivery])).Single() : await _sink.DeliverAsync(delivery);
            if (result.Outcome != DeliveryOutcome.RetriableFailure || attempt == 5)
            {
                return result;
            }
        }
    }

    public async Task DisposeAsync() => await _kit.DisposeAsync();
}
