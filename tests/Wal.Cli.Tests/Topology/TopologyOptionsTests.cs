using System.Diagnostics;
using Wal.Cli.Tests.Operator;

namespace Wal.Cli.Tests.Topology;

/// <summary>
/// <c>wal topology</c> given settings it cannot run with: exit 2 and what to fix on stderr, at once, before it reaches
/// Kafka (nothing listens at <see cref="UnreachableKafka"/>, so a run that goes there first answers a minute later, about Kafka).
/// </summary>
public sealed class TopologyOptionsTests
{
    private const string UnreachableKafka = "127.0.0.1:1";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("fifty", "error: WAL_ADMIN_PORT 'fifty' is not a port number.")]
    [InlineData("70000", "error: WAL_ADMIN_PORT 70000 must be -1 (off), 0 (a free port) or a port up to 65535.")]
    public async Task Topology_AdminPortVariableNotAPort_ExitsUsageNamingTheVariable(string value, string expected)
    {
        // In a child process: the variable is read from the environment, which a test must not change for the others.
        var run = await RunWalAsync(new Dictionary<string, string> { ["WAL_ADMIN_PORT"] = value }, "topology", "--bootstrap-servers", UnreachableKafka);

        Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", run.Error, StringComparison.Ordinal);
    }

    private static async Task<CliRun> RunWalAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var wal = Path.Combine(AppContext.BaseDirectory, "wal.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(wal);
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Deadline);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        return new(process.ExitCode, await stdout, await stderr);
    }
}
