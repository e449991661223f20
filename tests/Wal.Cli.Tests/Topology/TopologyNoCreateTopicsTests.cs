using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Namespaces;

namespace Wal.Cli.Tests.Topology;

/// <summary>
/// <c>wal topology --no-create-topics</c> on a cluster that lacks a topic it needs: it says so at start, naming the topic,
/// as <c>wal ingress --no-create-topics</c> does, rather than run on a topic the broker auto-created with its own defaults
/// (a control plane neither compacted nor of one partition), or stop at the first dead letter on a dead-letter topic
/// that is not there.
/// </summary>
public sealed class TopologyNoCreateTopicsTests : IDisposable
{
    private const string ApplicationId = "no-create";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string SeedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-no-create-{Guid.NewGuid():N}");
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    [Fact]
    public async Task Topology_NoCreateTopicsAndNoControlPlaneTopic_ExitsFailedNamingItWithoutCreatingIt()
    {
        var exit = await RunTopologyAsync();

        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\n{Console()}");
        Assert.True(
            _error.ToString().Contains($"error: --no-create-topics, but topic '{ControlPlaneOptions.DefaultTopic}' does not exist", StringComparison.Ordinal),
            Console());
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _kafka.BootstrapServers }).Build();
        Assert.DoesNotContain(admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics, t => t.Topic == ControlPlaneOptions.DefaultTopic);
    }

    [Fact]
    public async Task Topology_NoCreateTopicsAndADeadLetterTopicMissing_ExitsFailedNamingIt()
    {
        var namespaces = NamespaceSeedFile.Load(SeedFile).Select(NamespaceDefaults.Resolve).ToList();
        var demo = namespaces.Single(ns => ns.Name == "demo");
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync([.. Wal.Cli.Hosting.Namespaces.TopicsFor(namespaces, ApplicationId).Where(t => t.Name != demo.DeadLetterTopic)]);

        var exit = await RunTopologyAsync();

        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\n{Console()}");
        Assert.True(
            _error.ToString().Contains($"error: --no-create-topics, but topic '{demo.DeadLetterTopic}' does not exist", StringComparison.Ordinal),
            Console());
        Assert.DoesNotContain("   at ", _error.ToString(), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _kafka.Dispose();
        _output.Dispose();
        _error.Dispose();
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    // Stopped at the deadline should it run after all: it then exits 0.
    private async Task<int> RunTopologyAsync()
    {
        using var stop = new CancellationTokenSource(Deadline);
        return await WalCommandLine.RunAsync(
        [
            "topology", "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile, "--application-id", ApplicationId,
            "--memcached", "local=127.0.0.1:1", "--state-dir", _stateDirectory, "--session-timeout", "6s", "--no-create-topics", "--admin-port", "-1",
        ], _output, _error, stop.Token);
    }

    private string Console() => $"stdout:\n{_output}\nstderr:\n{_error}";
}
