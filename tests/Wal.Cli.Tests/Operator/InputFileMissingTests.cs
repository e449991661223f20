namespace Wal.Cli.Tests.Operator;

/// <summary>
/// A payload or mutation file that is not there is a bad command line (exit 2, naming the file), checked before any call:
/// not a stack trace, and not an unreachable ingress. No ingress runs here: the address is one nothing listens on, so a
/// command that got as far as calling it would fail differently.
/// </summary>
public sealed class InputFileMissingTests
{
    private const string NoIngress = "http://127.0.0.1:1/";

    [Fact]
    public async Task Write_ValueFileMissing_UsageErrorNamingTheFile()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"payload-{Guid.NewGuid():N}.bin");

        var run = await OperatorStackFixture.RunAsync("write", "demo", "--memcached-key", "k", "--value-file", missing, "--address", NoIngress);

        Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
        Assert.DoesNotContain("Unhandled exception", run.Error, StringComparison.Ordinal);
        Assert.StartsWith("error: ", run.ErrorLines[0], StringComparison.Ordinal);
        Assert.Contains(missing, run.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mutate_FileMissing_UsageErrorNamingTheFileNotTheIngress()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"mutation-{Guid.NewGuid():N}.json");

        var run = await OperatorStackFixture.RunAsync("mutate", "kv-mutations", "-f", missing, "--address", NoIngress);

        Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
        Assert.Contains(missing, run.ErrorLines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("ingress", run.Error, StringComparison.Ordinal);
    }
}
