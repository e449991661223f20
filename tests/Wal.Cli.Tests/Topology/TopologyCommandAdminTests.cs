using System.Diagnostics;
using System.Net;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Topology.Tests;

namespace Wal.Cli.Tests.Topology;

/// <summary><c>wal topology --admin-port</c> in-process against the mock cluster: what scrapers and probes see.</summary>
public sealed class TopologyCommandAdminTests : IAsyncLifetime
{
    private const string ApplicationId = "admin-test";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string SeedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);
    private RunningTopology? _topology;

    private RunningTopology Topology => _topology ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public async Task InitializeAsync()
    {
        var namespaces = NamespaceSeedFile.Load(SeedFile).Select(NamespaceDefaults.Resolve).ToList();
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync(Wal.Cli.Hosting.Namespaces.TopicsFor(namespaces, ApplicationId));
        _topology = RunningTopology.Start(
            "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile, "--application-id", ApplicationId,
            // Nothing listens there: records are processed, their deliveries wait on the retry path.
            "--memcached", "local=127.0.0.1:1", "--session-timeout", "6s", "--no-create-topics");
    }

    public async Task DisposeAsync()
    {
        if (_topology is not null)
        {
            await _topology.DisposeAsync();
        }

        _kafka.Dispose();
    }

    [Fact]
    public async Task Readyz_StreamsRunning_Answers200AndHealthzOk()
    {
        await Eventually.WaitUntilAsync(async () => (await Topology.GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Topology.Console()}");

        Assert.Equal((HttpStatusCode.OK, "ready\n"), await Topology.GetAsync("/readyz"));
        Assert.Equal((HttpStatusCode.OK, "ok\n"), await Topology.GetAsync("/healthz"));
        Assert.Contains($"metrics and health: {Topology.AdminAddress.ToString().TrimEnd('/')}/metrics", Topology.Output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AfterARecordIsProcessed_PromtoolAcceptsTheStreamsSeries()
    {
        await Eventually.WaitUntilAsync(async () => (await Topology.GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Topology.Console()}");
        await ProduceAsync("demo", "metrics-1");
        var text = string.Empty;

        await Eventually.WaitUntilAsync(
            async () => (text = (await Topology.GetAsync("/metrics")).Body).Contains("wal_streams_records_processed_total ", StringComparison.Ordinal)
                && text.Contains("wal_streams_store_entries{store=\"demo-timers\"}", StringComparison.Ordinal),
            Deadline,
            () => $"a processed record and the delay queue's store in /metrics:\n{text}");

        Assert.Contains("# TYPE wal_streams_records_processed_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE wal_streams_store_entries gauge", text, StringComparison.Ordinal);
        var (exitCode, output) = await PromtoolCheckAsync(text);
        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}): {output}\n{text}");
    }

    [Fact]
    public async Task Stop_Cancelled_ExitsOkAndStopsListening()
    {
        await Eventually.WaitUntilAsync(async () => (await Topology.GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Topology.Console()}");
        var exit = await Topology.StopAsync();

        Assert.Equal(0, exit);
        using var http = new HttpClient { BaseAddress = Topology.AdminAddress };
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri("/readyz", UriKind.Relative)));
    }

    [Fact]
    public async Task SecondInstanceOnTheSameStateDirectory_ExitsFailedSayingWhy_TheFirstRunsOn()
    {
        await Eventually.WaitUntilAsync(async () => (await Topology.GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Topology.Console()}");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await WalCommandLine.RunAsync(
        [
            "topology", "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile, "--application-id", ApplicationId,
            "--memcached", "local=127.0.0.1:1", "--state-dir", Topology.StateDirectory, "--session-timeout", "6s", "--no-create-topics", "--admin-port", "-1",
        ], output, error).WaitAsync(Deadline);

        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\n{output}\n{error}");
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"error: Another instance of this application runs with the state directory {Path.Combine(Topology.StateDirectory, ApplicationId)} ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("next: Give each instance on a machine its own --state-dir", lines[1], StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, "ready\n"), await Topology.GetAsync("/readyz"));
        Assert.False(Topology.Run.IsCompleted, $"the first instance stopped\n{Topology.Console()}");
    }

    private Task ProduceAsync(string ns, string id) => MemcachedLogEntries.ProduceAsync(_kafka.BootstrapServers, ns, id);

    private static async Task<(int ExitCode, string Output)> PromtoolCheckAsync(string metrics)
    {
        const string promtool = "/usr/bin/promtool";
        Assert.True(File.Exists(promtool), $"{promtool} is missing: apt-get install prometheus");
        using var process = Process.Start(new ProcessStartInfo(promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(metrics);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(Deadline);
        return (process.ExitCode, await stdout + await stderr);
    }
}
