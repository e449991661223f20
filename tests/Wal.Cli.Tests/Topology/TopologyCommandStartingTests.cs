using System.Net;
using Wal.Kafka.Embedded;

namespace Wal.Cli.Tests.Topology;

/// <summary>
/// <c>wal topology</c> while it still creates its topics: the probes answer (alive, not ready) rather than refuse the
/// connection, as the README promises, so a liveness probe does not restart an instance that is only starting.
/// </summary>
public sealed class TopologyCommandStartingTests : IAsyncLifetime
{
    private static readonly string SeedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);
    private RunningTopology? _topology;

    private RunningTopology Topology => _topology ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public Task InitializeAsync()
    {
        // Without --no-create-topics: the mock cluster has no CreateTopics, so creating the control plane's topic waits
        // for the admin client's timeout, as a slow controller would keep a real one waiting.
        _topology = RunningTopology.Start(
            "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile, "--application-id", "starting-test", "--memcached", "local=127.0.0.1:1");
        return Task.CompletedTask;
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
    public async Task Probes_WhileTopicsAreCreated_AliveButNotReady()
    {
        await Eventually.WaitUntilAsync(
            async () => Topology.Run.IsCompleted || (await Topology.GetAsync("/healthz")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20),
            () => $"/healthz to answer while the topics are created\n{Topology.Console()}");

        Assert.False(Topology.Run.IsCompleted, $"it stopped\n{Topology.Console()}");
        var (status, body) = await Topology.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith("not ready: starting", body, StringComparison.Ordinal);
    }
}
