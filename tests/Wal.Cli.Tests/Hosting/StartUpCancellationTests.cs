namespace Wal.Cli.Tests.Hosting;

/// <summary>
/// Ctrl-C while a serving command still starts: the user asked it to stop, so it ends as a stop after start-up does
/// (exit 0, no stack trace), whichever step of the start-up it was in.
/// </summary>
[Collection(UpStateDirectoryCollection.Name)]
public sealed class StartUpCancellationTests
{
    // Nothing listens on port 1: the control plane waits for Kafka until the cancellation, whenever that comes.
    private const string UnreachableKafka = "127.0.0.1:1";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("topology", "--admin-port", "-1", "--no-create-topics")]
    [InlineData("topology", "--admin-port", "-1")]
    [InlineData("ingress", "--listen", "127.0.0.1:50099")]
    [InlineData("ingress", "--listen", "127.0.0.1:50099", "--no-create-topics")]
    public async Task Command_CancelledWhileKafkaIsUnreachable_ExitsOkWithoutAStackTrace(params string[] command)
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-cancel-{Guid.NewGuid():N}");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await WalCommandLine.RunAsync(
            [.. command, "--bootstrap-servers", UnreachableKafka, .. command[0] == "topology" ? new[] { "--state-dir", stateDirectory } : []],
            output, error, stop.Token).WaitAsync(Deadline);

        var stderr = error.ToString();
        Assert.True(exit == ExitCodes.Ok, $"exit {exit}\nstdout:\n{output}\nstderr:\n{stderr}");
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
        Assert.Contains("stopped while starting", stderr, StringComparison.Ordinal);
        if (Directory.Exists(stateDirectory))
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Up_CancelledBeforeItRuns_ExitsOkWithoutAStackTrace()
    {
        // Cancelled from the outset, so whatever 'wal up' waits on first (the embedded Kafka's control topic) sees it.
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await WalCommandLine.RunAsync(
            ["up", "--port", "0", "--admin-port", "-1", "--topology-admin-port", "-1", "--memcached-port", "0", "--brokers", "1"],
            output, error, stop.Token).WaitAsync(Deadline);

        var stderr = error.ToString();
        Assert.True(exit == ExitCodes.Ok, $"exit {exit}\nstdout:\n{output}\nstderr:\n{stderr}");
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
        Assert.Contains("stopped while starting", stderr, StringComparison.Ordinal);
    }
}
