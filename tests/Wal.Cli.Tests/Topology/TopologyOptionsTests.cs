using System.Diagnostics;
using System.Globalization;
using Wal.Cli.Tests.Operator;
using Wal.Kafka.Embedded;
using Wal.Namespaces;

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

    // Outside librdkafka's range (1 s to 1 h): refused at start, not after the control plane reached Kafka and created
    // topics; over an hour, only the stream thread's consumer refused it, once running.
    [Theory]
    [InlineData("500ms")]
    [InlineData("2h")]
    public async Task Topology_SessionTimeoutOutOfLibrdkafkasRange_ExitsUsageBeforeReachingKafka(string sessionTimeout)
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-options-{Guid.NewGuid():N}");
        try
        {
            var started = Stopwatch.GetTimestamp();
            var run = await RunAsync(
                "topology", "--bootstrap-servers", UnreachableKafka, "--admin-port", "-1", "--state-dir", stateDirectory, "--session-timeout", sessionTimeout);

            Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
            Assert.Contains("--session-timeout", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("Kafka at", run.Error, StringComparison.Ordinal);
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), $"refused only after {Stopwatch.GetElapsedTime(started)}\n{run}");
        }
        finally
        {
            if (Directory.Exists(stateDirectory))
            {
                Directory.Delete(stateDirectory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Topology_SessionTimeoutAboveFiveMinutes_Runs()
    {
        // Kafka takes sessions up to half an hour by default; the stream threads' max.poll.interval (5 min) must not be below it.
        using var kafka = EmbeddedKafkaCluster.Start(1);
        var seedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");
        const string applicationId = "long-session";
        await kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = kafka.BootstrapServers }.TopicSpec]);
        await kafka.EnsureAsync(Wal.Cli.Hosting.Namespaces.TopicsFor(NamespaceSeedFile.Load(seedFile).Select(NamespaceDefaults.Resolve), applicationId));
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-options-{Guid.NewGuid():N}");
        var port = LoopbackPorts.Free();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var stop = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var run = WalCommandLine.RunAsync(
        [
            "topology", "--bootstrap-servers", kafka.BootstrapServers, "--namespaces", seedFile, "--application-id", applicationId,
            "--memcached", "local=127.0.0.1:1", "--state-dir", stateDirectory, "--no-create-topics", "--session-timeout", "10m",
            "--admin-port", port.ToString(CultureInfo.InvariantCulture),
        ], output, error, stop.Token);
        try
        {
            // The streams started with these settings: joining the group, or running.
            await Eventually.WaitUntilAsync(
                async () => run.IsCompleted || await ReadyzAsync(http) is var body && (body == "ready\n" || body.StartsWith("not ready: Rebalancing", StringComparison.Ordinal)),
                Deadline,
                () => $"the streams to start\nstdout:\n{output}\nstderr:\n{error}");

            Assert.False(run.IsCompleted, $"it stopped\nstdout:\n{output}\nstderr:\n{error}");
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(Deadline);
            if (Directory.Exists(stateDirectory))
            {
                Directory.Delete(stateDirectory, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("--application-id", "wal topology")]
    [InlineData("--region", " ")]
    public async Task Topology_NameItCannotUse_ExitsUsageNamingTheOption(string option, string value)
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-options-{Guid.NewGuid():N}");
        try
        {
            var run = await RunAsync("topology", "--bootstrap-servers", UnreachableKafka, "--admin-port", "-1", "--state-dir", stateDirectory, option, value);

            Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
            Assert.Contains(option, run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("Kafka at", run.Error, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(stateDirectory))
            {
                Directory.Delete(stateDirectory, recursive: true);
            }
        }
    }

    private static async Task<string> ReadyzAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            return await response.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException e)
        {
            // Not listening yet.
            return e.Message;
        }
    }

    private static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await WalCommandLine.RunAsync(args, output, error).WaitAsync(Deadline);
        return new(exit, output.ToString(), error.ToString());
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
