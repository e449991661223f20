using System.Globalization;
using System.Net;
using Wal.Kafka.Embedded;

namespace Wal.Cli.Tests.Topology;

/// <summary>
/// <c>wal topology</c> while it still creates its topics: the probes answer (alive, not ready) rather than refuse the
/// connection, as the README promises, so a liveness probe does not restart an instance that is only starting.
/// </summary>
public sealed class TopologyCommandStartingTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string SeedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-topology-starting-{Guid.NewGuid():N}");
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();
    private readonly HttpClient _http = new();
    private Task<int> _run = Task.FromResult(0);

    public Task InitializeAsync()
    {
        var port = LoopbackPorts.Free();
        _http.BaseAddress = new Uri($"http://127.0.0.1:{port}");
        // Without --no-create-topics: the mock cluster has no CreateTopics, so creating the control plane's topic waits
        // for the admin client's timeout, as a slow controller would keep a real one waiting.
        _run = WalCommandLine.RunAsync(
        [
            "topology", "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile, "--application-id", "starting-test",
            "--memcached", "local=127.0.0.1:1", "--state-dir", _stateDirectory, "--admin-port", port.ToString(CultureInfo.InvariantCulture),
        ], _output, _error, _stop.Token);
        return Task.CompletedTask;
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
    public async Task Probes_WhileTopicsAreCreated_AliveButNotReady()
    {
        await Eventually.WaitUntilAsync(
            async () => _run.IsCompleted || (await GetAsync("/healthz")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20),
            () => $"/healthz to answer while the topics are created\nstdout:\n{_output}\nstderr:\n{_error}");

        Assert.False(_run.IsCompleted, $"it stopped\nstdout:\n{_output}\nstderr:\n{_error}");
        var (status, body) = await GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith("not ready: starting", body, StringComparison.Ordinal);
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
            // Not listening.
            return (HttpStatusCode.ServiceUnavailable, e.Message);
        }
    }
}
