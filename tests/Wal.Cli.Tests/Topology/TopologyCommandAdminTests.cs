using System.Diagnostics;
using System.Globalization;
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
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-topology-admin-{Guid.NewGuid():N}");
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();
    private readonly HttpClient _http = new();
    private Task<int> _run = Task.FromResult(0);

    public async Task InitializeAsync()
    {
        var namespaces = NamespaceSeedFile.Load(SeedFile).Select(NamespaceDefaults.Resolve).ToList();
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync(Wal.Cli.Hosting.Namespaces.TopicsFor(namespaces, ApplicationId));
        var port = LoopbackPorts.Free();
        _http.BaseAddress = new Uri($"http://127.0.0.1:{port}");
        _run = WalCommandLine.RunAsync(
        [
            "topology", "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile, "--application-id", ApplicationId,
            // Nothing listens there: records are processed, their deliveries wait on the retry path.
            "--memcached", "local=127.0.0.1:1", "--state-dir", _stateDirectory, "--session-timeout", "6s", "--no-create-topics",
            "--admin-port", port.ToString(CultureInfo.InvariantCulture),
        ], _output, _error, _stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Deadline);
        _http.Dispose();
        _stop.Dispose();
        _kafka.Dispose();
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Readyz_StreamsRunning_Answers200AndHealthzOk()
    {
        await Eventually.WaitUntilAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Console()}");

        Assert.Equal((HttpStatusCode.OK, "ready\n"), await GetAsync("/readyz"));
        Assert.Equal((HttpStatusCode.OK, "ok\n"), await GetAsync("/healthz"));
        Assert.Contains($"metrics and health: {_http.BaseAddress!.ToString().TrimEnd('/')}/metrics", _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AfterARecordIsProcessed_PromtoolAcceptsTheStreamsSeries()
    {
        await Eventually.WaitUntilAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Console()}");
        await ProduceAsync("demo", "metrics-1");
        var text = string.Empty;

        await Eventually.WaitUntilAsync(
            async () => (text = (await GetAsync("/metrics")).Body).Contains("wal_streams_records_processed_total ", StringComparison.Ordinal)
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
        await Eventually.WaitUntilAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Console()}");
        await _stop.CancelAsync();
        await _run.WaitAsync(Deadline);

        Assert.Equal(0, await _run);
        await Assert.ThrowsAsync<HttpRequestException>(() => _http.GetAsync(new Uri("/readyz", UriKind.Relative)));
    }

    [Fact]
    public async Task SecondInstanceOnTheSameStateDirectory_ExitsFailedSayingWhy_TheFirstRunsOn()
    {
        await Eventually.WaitUntilAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, () => $"/readyz to answer 200\n{Console()}");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await WalCommandLine.RunAsync(
        [
            "topology", "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile, "--application-id", ApplicationId,
            "--memcached", "local=127.0.0.1:1", "--state-dir", _stateDirectory, "--session-timeout", "6s", "--no-create-topics", "--admin-port", "-1",
        ], output, error).WaitAsync(Deadline);

        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\n{output}\n{error}");
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"error: Another instance of this application runs with the state directory {Path.Combine(_stateDirectory, ApplicationId)} ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("next: Give each instance on a machine its own --state-dir", lines[1], StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, "ready\n"), await GetAsync("/readyz"));
        Assert.False(_run.IsCompleted, $"the first instance stopped\n{Console()}");
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException e)
        {
            // Not listening yet.
            return (HttpStatusCode.ServiceUnavailable, e.Message);
        }
    }

    private Task ProduceAsync(string ns, string id) => MemcachedLogEntries.ProduceAsync(_kafka.BootstrapServers, ns, id);

    private string Console() => $"stdout:\n{_output}\nstderr:\n{_error}";

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
