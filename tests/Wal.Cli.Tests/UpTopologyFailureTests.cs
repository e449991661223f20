using System.Globalization;

namespace Wal.Cli.Tests;

/// <summary>What <c>wal up</c> does when the topology it hosts fails: nothing revives it, so the whole run stops and says why.</summary>
[Collection(UpStateDirectoryCollection.Name)]
public sealed class UpTopologyFailureTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);
    private static readonly string SeedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");

    [Fact]
    public async Task Up_StreamThreadFails_StopsEverythingAndExitsFailedNamingTheError()
    {
        // A file where task demo_0's state directory goes (the seed's namespace demo, partition 0): the stream thread fails
        // when it opens the task's stores.
        var applicationDirectory = Path.Combine(Path.GetTempPath(), $"wal-up-{Environment.ProcessId}", "wal-topology");
        Directory.CreateDirectory(applicationDirectory);
        await File.WriteAllTextAsync(Path.Combine(applicationDirectory, "demo_0"), "not a directory");
        var (grpcPort, memcachedPort) = (LoopbackPorts.Free(), LoopbackPorts.Free());
        using var timeout = new CancellationTokenSource(Deadline);
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await WalCommandLine.RunAsync(
            [
                "up", "--namespaces", SeedFile, "--brokers", "1", "--port", Text(grpcPort), "--admin-port", "-1", "--topology-admin-port", "-1",
                "--memcached-port", Text(memcachedPort),
            ],
            output, error, timeout.Token);

        var stderr = error.ToString();
        Assert.False(timeout.IsCancellationRequested, $"wal up ran until the test's deadline instead of stopping\nstderr:\n{stderr}");
        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\nstderr:\n{stderr}");
        Assert.Contains("error: a stream thread of the topology (region local) stopped", stderr, StringComparison.Ordinal);
        Assert.Contains("demo_0", stderr, StringComparison.Ordinal);
        Assert.Contains("next: ", stderr, StringComparison.Ordinal);
        Assert.False(await LoopbackPorts.AcceptsAsync(grpcPort), "the ingress outlived wal up");
        Assert.False(await LoopbackPorts.AcceptsAsync(memcachedPort), "memcached outlived wal up");
        Assert.False(Directory.Exists(Path.GetDirectoryName(applicationDirectory)), "wal up left its state directory");
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
