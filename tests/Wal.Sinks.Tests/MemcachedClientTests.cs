using System.Net;
using System.Net.Sockets;
using System.Text;
using Wal.Sinks.Memcached;

namespace Wal.Sinks.Tests;

public sealed class MemcachedClientTests : IClassFixture<MemcachedServerFixture>, IAsyncLifetime
{
    private readonly MemcachedServerFixture _server;
    private readonly MemcachedClient _client;

    public MemcachedClientTests(MemcachedServerFixture server)
    {
        _server = server;
        _client = new MemcachedClient(new MemcachedClientOptions { Servers = [server.Server], ConnectionsPerServer = 1 });
    }

    [Fact]
    public async Task SetAsync_ThenGetAsync_ReturnsValueFlagsAndCas()
    {
        var key = NewKey();

        var stored = await _client.SetAsync(key, "hello"u8.ToArray(), new MemcachedSetOptions { ClientFlags = 42, Ttl = TimeSpan.FromMinutes(1) });
        var item = await _client.GetAsync(key);

        Assert.Equal(MemcachedStoreStatus.Stored, stored.Status);
        Assert.NotNull(item);
        Assert.Equal("hello", Encoding.UTF8.GetString(item.Value));
        Assert.Equal(42u, item.ClientFlags);
        Assert.Equal(stored.Cas, item.Cas);
    }

    [Fact]
    public async Task SetAsync_ConnectTimeoutPastTheLongestTimer_Stored()
    {
        // 60 days is past the 49.7 days (2^32 ms) CancellationTokenSource.CancelAfter takes.
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [_server.Server], ConnectTimeout = TimeSpan.FromDays(60) });

        var stored = await client.SetAsync(NewKey(), "x"u8.ToArray());

        Assert.Equal(MemcachedStoreStatus.Stored, stored.Status);
    }

    [Fact]
    public async Task GetAsync_MissingKey_ReturnsNull() => Assert.Null(await _client.GetAsync(NewKey()));

    [Fact]
    public async Task SetAsync_StaleCas_ExistsAndValueUnchanged()
    {
        var key = NewKey();
        var first = await _client.SetAsync(key, "a"u8.ToArray());
        await _client.SetAsync(key, "b"u8.ToArray());

        var stale = await _client.SetAsync(key, "c"u8.ToArray(), new MemcachedSetOptions { CompareCas = first.Cas });

        Assert.Equal(MemcachedStoreStatus.Exists, stale.Status);
        Assert.Equal("b", Encoding.UTF8.GetString((await _client.GetAsync(key))!.Value));
    }

    [Fact]
    public async Task SetAsync_AddOnExistingKey_NotStored()
    {
        var key = NewKey();
        await _client.SetAsync(key, "a"u8.ToArray());

        var add = await _client.SetAsync(key, "b"u8.ToArray(), new MemcachedSetOptions { Mode = MemcachedSetMode.Add });

        Assert.Equal(MemcachedStoreStatus.NotStored, add.Status);
    }

    [Fact]
    public async Task DeleteAsync_ExistingThenMissing_StoredThenNotFound()
    {
        var key = NewKey();
        await _client.SetAsync(key, "a"u8.ToArray());

        Assert.Equal(MemcachedStoreStatus.Stored, await _client.DeleteAsync(key));
        Assert.Equal(MemcachedStoreStatus.NotFound, await _client.DeleteAsync(key));
        Assert.Null(await _client.GetAsync(key));
    }

    [Fact]
    public async Task SetAsync_ManyConcurrentOnOneConnection_EachCallerGetsItsOwnAnswer()
    {
        var keys = Enumerable.Range(0, 2000).Select(i => (Key: NewKey(), Value: $"value-{i}")).ToArray();

        await Task.WhenAll(keys.Select(k => _client.SetAsync(k.Key, Encoding.UTF8.GetBytes(k.Value))));
        var items = await Task.WhenAll(keys.Select(k => _client.GetAsync(k.Key)));

        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(keys[i].Value, Encoding.UTF8.GetString(items[i]!.Value));
        }
    }

    [Fact]
    public async Task SetManyAsync_QuietBatch_StoresAllAndReportsOnlyFailures()
    {
        var existing = NewKey();
        await _client.SetAsync(existing, "old"u8.ToArray());
        var items = Enumerable.Range(0, 500).Select(i => KeyValuePair.Create(NewKey(), (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"v{i}"))).ToList();
        items.Insert(123, KeyValuePair.Create(existing, (ReadOnlyMemory<byte>)"new"u8.ToArray()));

        var failures = await _client.SetManyAsync(items, new MemcachedSetOptions { Mode = MemcachedSetMode.Add });

        var failure = Assert.Single(failures);
        Assert.Equal(123, failure.Index);
        Assert.Equal("NS", failure.Reason);
        Assert.Equal("v499", Encoding.UTF8.GetString((await _client.GetAsync(items[^1].Key))!.Value));
    }

    [Fact]
    public async Task SetManyAsync_ItemAboveTheServersLimit_FailsAtItsIndexUnsentAndTheKeysItemKept()
    {
        // memcached answers a too-large item of a quiet batch with a SERVER_ERROR naming no item, and drops the key's item.
        await using var small = await Memcached.Local.MemcachedProcess.StartAsync(threads: 1, extraArguments: ["-I", "512k"]);
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [small.Endpoint], ConnectionsPerServer = 1 });
        var existing = NewKey();
        await client.SetAsync(existing, "old"u8.ToArray());
        var items = Enumerable.Range(0, 10).Select(i => KeyValuePair.Create(NewKey(), (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"v{i}"))).ToList();
        items[4] = KeyValuePair.Create(existing, (ReadOnlyMemory<byte>)new byte[700 * 1024]);

        var failures = await client.SetManyAsync(items);

        var failure = Assert.Single(failures);
        Assert.Equal(4, failure.Index);
        Assert.Contains("item_size_max 524288", failure.Reason, StringComparison.Ordinal);
        Assert.Equal("old", Encoding.UTF8.GetString((await client.GetAsync(existing))!.Value));
        Assert.Equal("v9", Encoding.UTF8.GetString((await client.GetAsync(items[9].Key))!.Value));
    }

    [Fact]
    public async Task SetInOrderAsync_TwoServers_EachItemAnsweredAtItsIndexWithCasAndErrorsItemByItem()
    {
        await using var second = await Memcached.Local.MemcachedProcess.StartAsync(threads: 1);
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [_server.Server, second.Endpoint], ConnectionsPerServer = 1 });
        var existing = NewKey();
        Assert.Equal(MemcachedStoreStatus.Stored, (await client.SetAsync(existing, "old"u8.ToArray())).Status);
        var add = new MemcachedSetOptions { Mode = MemcachedSetMode.Add };
        var items = Enumerable.Range(0, 40).Select(i => new PipelinedSet(Encoding.ASCII.GetBytes(NewKey()), Encoding.UTF8.GetBytes($"v{i}"), add)).ToList();
        items[7] = items[7] with { Key = Encoding.ASCII.GetBytes(existing) };
        items[20] = items[20] with { Value = new byte[2 * 1024 * 1024] };

        var results = await client.SetInOrderAsync(items, CancellationToken.None);

        Assert.Equal(items.Count, results.Length);
        Assert.Equal(MemcachedStoreStatus.NotStored, results[7].Result.Status);
        Assert.IsType<MemcachedItemTooLargeException>(results[20].Error);
        for (var i = 0; i < items.Count; i++)
        {
            if (i is 7 or 20)
            {
                continue;
            }

            Assert.Null(results[i].Error);
            Assert.Equal(MemcachedStoreStatus.Stored, results[i].Result.Status);
            var item = await client.GetAsync(Encoding.ASCII.GetString(items[i].Key));
            Assert.Equal($"v{i}", Encoding.UTF8.GetString(item!.Value));
            Assert.Equal(item.Cas, results[i].Result.Cas);
        }

        Assert.True(await second.StatAsync("cmd_set") > 0, "some keys hash to the second server");
        Assert.Equal("old", Encoding.UTF8.GetString((await client.GetAsync(existing))!.Value));
    }

    [Fact]
    public async Task SetAsync_ValueNearItemLimit_RoundTrips()
    {
        var key = NewKey();
        var value = new byte[1024 * 1024 - 1024];
        Random.Shared.NextBytes(value);

        Assert.Equal(MemcachedStoreStatus.Stored, (await _client.SetAsync(key, value)).Status);

        Assert.Equal(value, (await _client.GetAsync(key))!.Value);
    }

    [Fact]
    public async Task SetAsync_ValueAboveTheServersLimit_RefusedUnsentAndTheKeysItemKept()
    {
        var key = NewKey();
        await _client.SetAsync(key, "old"u8.ToArray());

        var error = await Assert.ThrowsAsync<MemcachedItemTooLargeException>(() => _client.SetAsync(key, new byte[2 * 1024 * 1024]));

        Assert.Contains("item_size_max 1048576", error.Message, StringComparison.Ordinal);
        Assert.Equal("old", Encoding.UTF8.GetString((await _client.GetAsync(key))!.Value));
        key = NewKey();
        Assert.Equal(MemcachedStoreStatus.Stored, (await _client.SetAsync(key, "ok"u8.ToArray())).Status);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\tkey")]
    [InlineData("new\r\nline")]
    [InlineData("del\u007f")]
    public async Task SetAsync_InvalidKey_ArgumentExceptionBeforeSending(string key) =>
        await Assert.ThrowsAsync<ArgumentException>(() => _client.SetAsync(key, "x"u8.ToArray()));

    [Fact]
    public void TryValidate_KeyLengthAroundLimit_AcceptsAtMost250Bytes()
    {
        Assert.True(MemcachedKey.TryValidate(new string('k', 250), out _));
        Assert.False(MemcachedKey.TryValidate(new string('k', 251), out var error));
        Assert.Contains("251", error);
        // Length is counted in UTF-8 bytes: 126 two-byte characters are 252 bytes.
        Assert.False(MemcachedKey.TryValidate(new string('é', 126), out _));
    }

    [Fact]
    public void TryValidate_LoneSurrogate_RefusedAndPairsAccepted()
    {
        Assert.False(MemcachedKey.TryValidate("k\uD800", out var error));
        Assert.Contains("lone surrogate (U+D800)", error);
        Assert.DoesNotContain("\uD800", error, StringComparison.Ordinal);
        Assert.False(MemcachedKey.TryValidate("k\uDC00", out _));
        Assert.False(MemcachedKey.TryValidate("k\uDC00\uD800", out _));
        Assert.False(MemcachedKey.TryValidate("k\uD800x", out _));
        Assert.Throws<ArgumentException>(() => MemcachedKey.Encode("k\uD800"));
        // A pair is one character outside the Basic Multilingual Plane, four bytes in UTF-8.
        Assert.True(MemcachedKey.TryValidate("k\uD83D\uDE00", out _));
    }

    [Fact]
    public async Task GetAsync_AfterServerRestart_FirstMayFailThenReconnects()
    {
        var key = NewKey();
        await _client.SetAsync(key, "a"u8.ToArray());
        await _server.StopAsync();
        await Assert.ThrowsAsync<MemcachedConnectionException>(() => _client.GetAsync(key));
        await _server.StartAsync();

        MemcachedItem? item = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                item = await _client.GetAsync(key);
                break;
            }
            catch (MemcachedConnectionException) when (attempt < 2)
            {
            }
        }

        // A restarted memcached is empty: the miss proves the request reached the new process.
        Assert.Null(item);
    }

    [Fact]
    public async Task GetAsync_Cancelled_ThrowsAndConnectionKeepsOrder()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.GetAsync(NewKey(), cancelled.Token));

        var key = NewKey();
        await _client.SetAsync(key, "in order"u8.ToArray());
        Assert.Equal("in order", Encoding.UTF8.GetString((await _client.GetAsync(key))!.Value));
    }

    [Fact]
    public async Task SetAsync_ServerAnswersClientError_MemcachedClientErrorException()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var buffer = new byte[1024];
            // The client's stats settings, on connecting: a server that lists nothing.
            _ = await socket.ReceiveAsync(buffer);
            await socket.SendAsync("END\r\n"u8.ToArray());
            _ = await socket.ReceiveAsync(buffer);
            await socket.SendAsync("CLIENT_ERROR bad data chunk\r\nERROR\r\n"u8.ToArray());
            _ = await socket.ReceiveAsync(buffer);
        });
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [$"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"], ConnectionsPerServer = 1 });

        var error = await Assert.ThrowsAsync<MemcachedClientErrorException>(() => client.SetAsync("k", "v"u8.ToArray()));

        Assert.Equal("bad data chunk", error.ServerMessage);
        await serve.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task GetAsync_ServerAnswersGarbage_ConnectionException()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            var buffer = new byte[1024];
            _ = await socket.ReceiveAsync(buffer);
            await socket.SendAsync("HELLO there\r\n"u8.ToArray());
        });
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [$"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"], ConnectionsPerServer = 1 });

        var error = await Assert.ThrowsAsync<MemcachedConnectionException>(() => client.GetAsync("k"));

        Assert.Contains("broke the protocol", error.Message);
        await serve.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task SetAsync_ServerHung_AbandonedRequestsAreLetGo_AndTheClientRecoversWhenItWakes()
    {
        // A stopped process keeps its socket open: nothing fails the connection but the client.
        await using var memcached = await Wal.Sinks.Memcached.Local.MemcachedProcess.StartAsync();
        var pid = await memcached.StatAsync("pid");
        await using var client = new MemcachedClient(new MemcachedClientOptions
        {
            Servers = [memcached.Endpoint],
            ConnectionsPerServer = 1,
            UnresponsiveAfter = TimeSpan.FromMilliseconds(200),
        });
        await client.SetAsync("warm", "x"u8.ToArray());
        Signal("STOP", pid);
        try
        {
            var before = GC.GetTotalMemory(forceFullCollection: true);
            for (var i = 0; i < 150; i++)
            {
                // Each caller gives up after 20 ms, as the sink does after its OperationTimeout.
                using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SetAsync($"k{i}", new byte[256 * 1024], cancellationToken: timeout.Token));
            }

            var grown = GC.GetTotalMemory(forceFullCollection: true) - before;

            // 150 x 256 KiB is 37.5 MiB when every abandoned request keeps its value.
            Assert.True(grown < 16 * 1024 * 1024, $"{grown / (1024 * 1024)} MiB retained by 150 abandoned requests");
        }
        finally
        {
            Signal("CONT", pid);
        }

        MemcachedStoreStatus? stored = null;
        await Eventually.WaitUntilAsync(
            async () =>
            {
                try
                {
                    stored = (await client.SetAsync("after", "y"u8.ToArray())).Status;
                    return true;
                }
                catch (MemcachedConnectionException)
                {
                    return false;
                }
            },
            TimeSpan.FromSeconds(10),
            "a set to succeed once the server woke");
        Assert.Equal(MemcachedStoreStatus.Stored, stored);
    }

    [Fact]
    public async Task SetManyAsync_QuietBatchOnAHealthyServer_NotTakenForHungWhenAnotherCallerGivesUp()
    {
        // A quiet batch is answered only at its end: a server taking it in is silent, not hung.
        await using var memcached = await Wal.Sinks.Memcached.Local.MemcachedProcess.StartAsync(memoryMegabytes: 256);
        await using var client = new MemcachedClient(new MemcachedClientOptions
        {
            Servers = [memcached.Endpoint],
            ConnectionsPerServer = 1,
            UnresponsiveAfter = TimeSpan.FromMilliseconds(50),
        });
        await client.SetAsync("warm", "x"u8.ToArray());
        var value = new byte[512 * 1024];
        var items = Enumerable.Range(0, 400).Select(i => KeyValuePair.Create($"quiet-{i}", (ReadOnlyMemory<byte>)value)).ToList();

        var batch = client.SetManyAsync(items);
        // The scenario: the server is under way with the batch (a quarter stored: 200 MB framed,
        // 50 MB written, far longer than UnresponsiveAfter since the batch went in), not done.
        await Eventually.WaitUntilAsync(async () => batch.IsCompleted || await memcached.StatAsync("curr_items") > 100, TimeSpan.FromSeconds(20), "the server to store part of the batch");
        Assert.False(batch.IsCompleted, "the batch finished too fast for the scenario; make it larger");
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(5)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync("warm", timeout.Token));
        }

        Assert.Empty(await batch);
    }

    public Task InitializeAsync() => _server.StartAsync();

    public async Task DisposeAsync() => await _client.DisposeAsync();

    private static string NewKey() => "client-test:" + Guid.NewGuid().ToString("N");

    private static void Signal(string signal, long pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
