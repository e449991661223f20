using Wal.Sinks.Memcached.Local;

namespace Wal.Cli.Tests;

public sealed class UpCommandTests
{
    [Fact]
    public async Task Up_MemcachedPortHeldByAnotherMemcached_SaysWhichPortAndStartsNothing()
    {
        // What README's tour warns of: a memcached started by hand still holds the port the next 'wal up' wants.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var leftOver = await MemcachedProcess.StartAsync(cancellationToken: timeout.Token);
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await WalCommandLine.RunAsync(
            ["up", "--memcached-port", leftOver.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--port", "0", "--admin-port", "-1", "--topology-admin-port", "-1"],
            output, error, timeout.Token);

        var stderr = error.ToString();
        Assert.Equal(ExitCodes.Failed, exit);
        Assert.StartsWith($"error: port {leftOver.Port} (memcached, --memcached-port) is already taken", stderr, StringComparison.Ordinal);
        Assert.Contains("next: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output.ToString());
    }
}
