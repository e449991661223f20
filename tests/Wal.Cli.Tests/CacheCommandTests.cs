using System.Text;
using System.Text.Json.Nodes;
using Wal.Cli.Tests.Operator;
using Wal.Sinks.Memcached;
using Wal.Sinks.Memcached.Local;

namespace Wal.Cli.Tests;

/// <summary><c>wal cache get</c> against a real memcached, with items as Wal's memcached sink writes them.</summary>
public sealed class CacheCommandTests : IAsyncLifetime
{
    private MemcachedProcess? _memcached;

    public async Task InitializeAsync() => _memcached = await MemcachedProcess.StartAsync();

    public async Task DisposeAsync() => await _memcached!.DisposeAsync();

    [Fact]
    public async Task Get_OutputJson_DeliveredItemAsJsonOnStdout()
    {
        await SetAsWalDoesAsync("greeting", version: 42, "hello, wal", tombstone: false);

        var run = await OperatorStackFixture.RunAsync("cache", "get", "greeting", "--server", _memcached!.Endpoint, "--output", "json");

        Assert.True(run.Exit == ExitCodes.Ok, run.ToString());
        var item = JsonNode.Parse(run.Out)!;
        Assert.Equal("greeting", item["key"]!.GetValue<string>());
        Assert.True(item["found"]!.GetValue<bool>());
        Assert.Equal("hello, wal", item["value"]!.GetValue<string>());
        Assert.Equal(42, item["version"]!.GetValue<long>());
        Assert.False(item["deleted"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Get_OutputJson_MissingKeyIsJsonToo_ExitThree()
    {
        var run = await OperatorStackFixture.RunAsync("cache", "get", "never-written", "--server", _memcached!.Endpoint, "-o", "json");

        Assert.True(run.Exit == ExitCodes.NotDurable, run.ToString());
        var item = JsonNode.Parse(run.Out)!;
        Assert.Equal("never-written", item["key"]!.GetValue<string>());
        Assert.False(item["found"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Get_Text_DeletedItemSaysItsVersion()
    {
        await SetAsWalDoesAsync("user:1", version: 7, "", tombstone: true);

        var run = await OperatorStackFixture.RunAsync("cache", "get", "user:1", "--server", _memcached!.Endpoint);

        Assert.True(run.Exit == ExitCodes.Ok, run.ToString());
        Assert.Equal("user:1: deleted at version 7", run.Out.TrimEnd());
    }

    private async Task SetAsWalDoesAsync(string key, long version, string value, bool tombstone)
    {
        await using var client = new MemcachedClient(new MemcachedClientOptions { Servers = [_memcached!.Endpoint] });
        await client.SetAsync(key, VersionedValue.Encode(version, Encoding.UTF8.GetBytes(value), tombstone), new MemcachedSetOptions { ClientFlags = VersionedValue.ClientFlags });
    }
}
