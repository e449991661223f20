using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Cli.Hosting;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Wal.Topology;
using Wal.Topology.Dispatch;
using Wal.Topology.Tests;

namespace Wal.Cli.Tests.Topology;

/// <summary>The topology's admin endpoints over a host whose sink the test controls, so a stream thread can be made to fail.</summary>
public sealed class TopologyAdminTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);
    private readonly ThrowingSink _sink = new();
    private readonly string _stateDirectory = Path.Combine(Path.GetTempPath(), $"wal-admin-{Guid.NewGuid():N}");
    private readonly HttpClient _http = new();
    private WalTopologyHost _host = null!;
    private TopologyHealth _health = null!;
    private TopologyAdmin _admin = null!;

    public async Task InitializeAsync()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "a",
            Partitions = 1,
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
        }]);
        _host = new WalTopologyHost(registry, _sink, new WalTopologyOptions { PersistentStores = false }, new StreamsConfig
        {
            ApplicationId = "admin-host-test",
            BootstrapServers = _kafka.BootstrapServers,
            StateDirectory = _stateDirectory,
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        }, _kafka);
        _health = new TopologyHealth(_host);
        _admin = await TopologyAdmin.StartAsync(IPAddress.Loopback, 0, _health, TopologyMetrics.Shared, NullLoggerFactory.Instance, CancellationToken.None);
        _http.BaseAddress = _admin.Address;
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _admin.DisposeAsync();
        await _host.DisposeAsync();
        _kafka.Dispose();
        if (Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Readyz_HostNotStarted_Answers503ButHealthzOk()
    {
        var (status, body) = await GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith("not ready: starting", body, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, "ok\n"), await GetAsync("/healthz"));
    }

    [Fact]
    public async Task Healthz_StreamThreadStoppedByAnError_Answers503WithTheError()
    {
        await StartHostAsync();
        await Eventually.WaitUntilAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, "/readyz to answer 200");
        Assert.Equal((HttpStatusCode.OK, "ok\n"), await GetAsync("/healthz"));
        // The dispatcher classifies every exception of a sink but this one, which therefore stops the stream thread.
        _sink.Throw = new OutOfMemoryException("sink out of memory");

        await ProduceAsync("a-1");
        await _host.Failed.WaitAsync(Deadline);

        var (health, healthText) = await GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health);
        Assert.Contains("sink out of memory", healthText, StringComparison.Ordinal);
        var (ready, readyText) = await GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
        Assert.Contains("sink out of memory", readyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_StreamsClosed_Answers503NamingTheState()
    {
        await StartHostAsync();
        await Eventually.WaitUntilAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Deadline, "/readyz to answer 200");

        await _host.CloseAsync();

        Assert.Equal(
            (HttpStatusCode.ServiceUnavailable, "not ready: NotRunning (closing, to stop or to rebuild for a changed set of namespaces)\n"),
            await GetAsync("/readyz"));
        Assert.Equal((HttpStatusCode.OK, "ok\n"), await GetAsync("/healthz"));
    }

    [Fact]
    public async Task Metrics_AnotherInstanceInTheProcess_ExportsOnlyItsOwnInstruments()
    {
        // As the two regions of `wal up --regions 2`: one process, a topology and an admin port each.
        using var own = new TopologyMetrics();
        using var otherRegions = new TopologyMetrics();
        await using var admin = await TopologyAdmin.StartAsync(IPAddress.Loopback, 0, _health, own, NullLoggerFactory.Instance, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = admin.Address };

        own.DeadLettered("counted-here", DeadLetterReasons.Permanent);
        otherRegions.DeadLettered("counted-elsewhere", DeadLetterReasons.Permanent);
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Contains("wal_topology_dead_letters_total{namespace=\"counted-here\",reason=\"permanent\"} 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("counted-elsewhere", text, StringComparison.Ordinal);
        // One family per name: the other instance's instruments of the same names are not listed beside these.
        Assert.Single(text.Split('\n'), l => l == "# TYPE wal_topology_dead_letters_total counter");
    }

    [Fact]
    public async Task Metrics_NamespaceDeleted_ItsSeriesAreNoLongerExported()
    {
        // The ingress drops a deleted namespace's series; the topology kept them for the life of the process, so a
        // namespace created again under the name went on from the old counts.
        using var metrics = new TopologyMetrics();
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "kept" }, new NamespaceConfig { Name = "doomed" }]);
        await using var admin = await TopologyAdmin.StartAsync(IPAddress.Loopback, 0, _health, metrics, NullLoggerFactory.Instance, CancellationToken.None);
        admin.Follow(registry);
        using var http = new HttpClient { BaseAddress = admin.Address };
        metrics.DeadLettered("kept", DeadLetterReasons.Permanent);
        metrics.DeadLettered("doomed", DeadLetterReasons.Permanent);
        Assert.Contains("namespace=\"doomed\"", await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);

        registry.Remove("doomed");
        var afterDelete = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        // An attempt under way at the delete counts after it: the next scrape still leaves the namespace out.
        metrics.DeadLettered("doomed", DeadLetterReasons.Retriable);
        var afterLateCount = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        Assert.All([afterDelete, afterLateCount], text =>
        {
            Assert.DoesNotContain("doomed", text, StringComparison.Ordinal);
            Assert.Contains("wal_topology_dead_letters_total{namespace=\"kept\",reason=\"permanent\"} 1\n", text, StringComparison.Ordinal);
        });
    }

    private async Task StartHostAsync()
    {
        await _host.StartAsync();
        _health.HostStarted();
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task ProduceAsync(string id) => MemcachedLogEntries.ProduceAsync(_kafka.BootstrapServers, "a", id);

    private sealed class ThrowingSink : ISink
    {
        public Exception? Throw { get; set; }

        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default) =>
            Throw is { } error ? throw error : ValueTask.FromResult(DeliveryResult.Delivered);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
