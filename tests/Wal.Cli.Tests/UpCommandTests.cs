using Wal.Cli.Commands;
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

    // Region b's ports are region a's plus 10 (memcached's plus 1): --port 50043 put b's ingress on a's topology admin
    // port, and the second of the two failed to bind after the first region had started.
    [Fact]
    public async Task Up_TwoRegionsWhosePortsMeet_UsageErrorNamingBothStartsNothing()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await WalCommandLine.RunAsync(["up", "--regions", "2", "--port", "50043"], output, error, timeout.Token);

        var stderr = error.ToString();
        Assert.True(exit == ExitCodes.Usage, $"exit {exit}: {stderr}");
        Assert.StartsWith("error: port 50053 is given to both", stderr, StringComparison.Ordinal);
        Assert.Contains("region b's ingress", stderr, StringComparison.Ordinal);
        Assert.Contains("region a's topology", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output.ToString());
    }

    [Theory]
    [InlineData("namespaces.json")]
    [InlineData("namespaces-two-regions.json")]
    public void DefaultNamespacesFile_OutsideTheRepository_IsTheSeedShippedWithTheBinary(string name)
    {
        // The README offers the CLI on PATH; 'wal up' run from a directory with no config/ above it takes the seed next
        // to the binary.
        var elsewhere = Directory.CreateTempSubdirectory("wal-up-elsewhere-");
        try
        {
            var seed = UpCommand.DefaultNamespacesFile(name, elsewhere.FullName);

            Assert.True(File.Exists(seed), $"'{seed}' does not exist");
        }
        finally
        {
            elsewhere.Delete();
        }
    }

    [Fact]
    public void AdminEndpoints_PortTurnedOff_SaysOffAlone()
    {
        // The welcome's "metrics and health" line for --admin-port -1 (or --topology-admin-port -1).
        Assert.Equal("off", UpCommand.AdminEndpoints(null));
        Assert.Equal("http://127.0.0.1:50052/metrics  /healthz  /readyz", UpCommand.AdminEndpoints(new Uri("http://127.0.0.1:50052/")));
    }
}
