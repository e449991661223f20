using Wal.Sinks.Memcached.Local;

namespace Wal.Sinks.Tests;

public sealed class MemcachedProcessTests
{
    [Fact]
    public async Task StartAsync_PortHeldByAnotherMemcached_RefusesInsteadOfUsingIt()
    {
        // `wal up` on a port where an earlier memcached still ran reported it as its own: its server failed to bind,
        // the old one answered, and the local run wrote into a server that kept data across runs.
        await using var earlier = await MemcachedProcess.StartAsync(threads: 1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => MemcachedProcess.StartAsync(earlier.Port, threads: 1));

        Assert.Contains($"Port {earlier.Port} is already taken", error.Message, StringComparison.Ordinal);
        Assert.True(await earlier.StatAsync("pid") > 0);
    }
}
