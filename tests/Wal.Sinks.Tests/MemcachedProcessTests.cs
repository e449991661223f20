using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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

    [Fact]
    public async Task StartAsync_CancelledWhileTheServerStarts_StopsTheServerItStarted()
    {
        // Ctrl-C while 'wal up' waited for memcached left the server running after the CLI exited, holding the port.
        var port = FreePort();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MemcachedProcess.StartAsync(port, threads: 1, cancellationToken: cancelled.Token));

        Assert.Empty(ServersOnPort(port));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // The memcached processes started with '-p port', read from their command lines.
    private static List<int> ServersOnPort(int port)
    {
        var argument = $"\0-p\0{port}\0";
        var found = new List<int>();
        foreach (var process in Process.GetProcessesByName("memcached"))
        {
            using (process)
            {
                try
                {
                    if (File.ReadAllText($"/proc/{process.Id}/cmdline").Contains(argument, StringComparison.Ordinal))
                    {
                        found.Add(process.Id);
                    }
                }
                catch (IOException)
                {
                    // It exited while being looked at.
                }
            }
        }

        return found;
    }
}
