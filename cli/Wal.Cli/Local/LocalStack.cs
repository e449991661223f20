using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wal.Ingress;
using Wal.Ingress.Admin;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Sinks.Memcached.Local;
using Wal.Streams;
using Wal.Topology;

namespace Wal.Cli.Local;

/// <summary>
/// Everything <c>wal up</c> runs, in one process: an embedded Kafka (librdkafka's mock cluster),
/// the control plane seeded from the namespace file, a memcached server, one topology instance and
/// the ingress. The end-to-end tests start exactly this.
/// </summary>
internal sealed class LocalStack : IAsyncDisposable
{
    /// <summary>The memcached cluster name namespaces target locally.</summary>
    public const string MemcachedCluster = "local";

    private readonly List<IAsyncDisposable> _started = [];

    private LocalStack(LocalStackOptions options) => Options = options;

    public LocalStackOptions Options { get; }

    public EmbeddedKafkaCluster Kafka { get; private set; } = null!;

    public NamespaceRegistry Namespaces { get; private set; } = new();

    public MemcachedProcess Memcached { get; private set; } = null!;

    public WebApplication Ingress { get; private set; } = null!;

    public WalTopologyHost Topology { get; private set; } = null!;

    /// <summary>
    /// This stack's processors' instruments, its own rather than <see cref="TopologyMetrics.Shared"/>: the two regions of
    /// <c>wal up --regions 2</c> run in one process, and each region's /metrics counts its own deliveries alone.
    /// </summary>
    public TopologyMetrics Metrics { get; } = new();

    /// <summary>The topology's /metrics, /healthz and /readyz; null when <see cref="LocalStackOptions.TopologyAdminPort"/> is -1.</summary>
    public Hosting.TopologyAdmin? TopologyEndpoints { get; private set; }

    public Uri IngressAddress => Ingress.GetGrpcAddress();

    /// <summary>Completes with the error once the ingress's producer failed fatally: from then on it refuses every write.</summary>
    public Task<string> IngressProducerFailed => Ingress.Services.GetRequiredService<KafkaLogProducer>().Failed;

    public Uri? AdminAddress => Ingress.GetAdminAddress();

    public static async Task<LocalStack> StartAsync(LocalStackOptions options, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        var stack = new LocalStack(options);
        try
        {
            await stack.StartPartsAsync(loggers, cancellationToken);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the local memcached: an outage drill. Deliveries wait on the retry path until <see cref="StartMemcachedAsync"/>.</summary>
    public async Task StopMemcachedAsync()
    {
        _started.Remove(Memcached);
        await Memcached.DisposeAsync();
    }

    /// <summary>Starts memcached again on the port it had, so the sinks reconnect to it.</summary>
    public async Task StartMemcachedAsync(CancellationToken cancellationToken = default)
    {
        Memcached = await MemcachedProcess.StartAsync(Memcached.Port, cancellationToken: cancellationToken);
        // Stop it before the sinks and the topology that use it are disposed.
        _started.Insert(0, Memcached);
    }

    public async ValueTask DisposeAsync()
    {
        // Stop in reverse order: the ingress first (no new writes), Kafka last.
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].DisposeAsync();
        }

        _started.Clear();
        Metrics.Dispose();
        Kafka?.Dispose();
        if (Directory.Exists(Options.StateDirectory))
        {
            Directory.Delete(Options.StateDirectory, recursive: true);
        }
    }

    private async Task StartPartsAsync(ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        Kafka = EmbeddedKafkaCluster.Start(Options.Brokers);

        var controlPlane = await Hosting.Namespaces.StartControlPlaneAsync(Kafka.BootstrapServers, Options.NamespacesFile, Kafka, Options.ApplicationId, loggers, cancellationToken);
        _started.Add(controlPlane);
        Namespaces = controlPlane.Registry;

        Memcached = await MemcachedProcess.StartAsync(Options.MemcachedPort, cancellationToken: cancellationToken);
        _started.Add(Memcached);

        // memcached and Kafka targets (on the embedded cluster) and upstream applications; no Cassandra runs locally.
        var sinks = new Hosting.SinkSettings
        {
            MemcachedClusters = new Dictionary<string, IReadOnlyList<string>> { [MemcachedCluster] = [Memcached.Endpoint] },
            LocalKafka = Kafka.BootstrapServers,
        }.CreateRouter(Namespaces, Options.ApplicationId, loggers);
        _started.Add(sinks);

        Topology = new WalTopologyHost(Namespaces, sinks, new WalTopologyOptions { Region = Options.Region }, new StreamsConfig
        {
            ApplicationId = Options.ApplicationId,
            BootstrapServers = Kafka.BootstrapServers,
            StateDirectory = Options.StateDirectory,
            CommitInterval = Options.CommitInterval,
            // One instance alone in its group: no one to wait for at the first join.
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        }, Kafka, loggers, metrics: Metrics);
        _started.Add(Topology);
        var health = new Hosting.TopologyHealth(Topology);
        if (Options.TopologyAdminPort >= 0)
        {
            TopologyEndpoints = await Hosting.TopologyAdmin.StartAsync(IPAddress.Loopback, Options.TopologyAdminPort, health, Metrics, loggers, cancellationToken);
            TopologyEndpoints.Follow(Namespaces);
            _started.Add(TopologyEndpoints);
        }

        await Topology.StartAsync(cancellationToken);
        health.HostStarted();

        Ingress = IngressHost.Build(
            new IngressOptions
            {
                BootstrapServers = Kafka.BootstrapServers,
                Region = Options.Region,
                TopologyApplicationId = Options.ApplicationId,
                Port = Options.IngressPort,
                AdminPort = Options.AdminPort,
            },
            Namespaces,
            builder =>
            {
                builder.Logging.ClearProviders().AddProvider(new ForwardingLoggerProvider(loggers));
                builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, Hosting.CommandLineLifetime>();
            });
        Ingress.MapNamespaceAdmin(controlPlane, (ns, ct) => Hosting.Namespaces.PrepareAsync(Kafka, Kafka.BootstrapServers, ns, Options.ApplicationId, logMustExist: false, ct));
        await Ingress.StartAsync(cancellationToken);
        _started.Add(Ingress);
    }
}
