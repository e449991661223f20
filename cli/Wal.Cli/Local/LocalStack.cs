using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Wal.Ingress;
using Wal.Kafka;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Sinks.Memcached;
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

    public NamespaceRegistry Namespaces { get; } = new();

    public MemcachedProcess Memcached { get; private set; } = null!;

    public WebApplication Ingress { get; private set; } = null!;

    public KafkaStreams Topology { get; private set; } = null!;

    public Uri IngressAddress => Ingress.GetGrpcAddress();

    public Uri? AdminAddress => Ingress.GetAdminAddress();

    public static async Task<LocalStack> StartAsync(LocalStackOptions options, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        var seed = NamespaceSeedFile.Load(options.NamespacesFile);
        _ = new NamespaceRegistry(seed); // fail before starting anything if the seed is invalid
        var stack = new LocalStack(options);
        try
        {
            await stack.StartPartsAsync(seed, loggers, cancellationToken);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Stop in reverse order: the ingress first (no new writes), Kafka last.
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].DisposeAsync();
        }

        _started.Clear();
        Kafka?.Dispose();
        if (Directory.Exists(Options.StateDirectory))
        {
            Directory.Delete(Options.StateDirectory, recursive: true);
        }
    }

    private async Task StartPartsAsync(IReadOnlyList<NamespaceConfig> seed, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        Kafka = EmbeddedKafkaCluster.Start(Options.Brokers);

        var controlPlaneOptions = new ControlPlaneOptions { BootstrapServers = Kafka.BootstrapServers };
        await Kafka.EnsureAsync([controlPlaneOptions.TopicSpec], cancellationToken);
        var controlPlane = new ControlPlane(controlPlaneOptions, Namespaces, loggers.CreateLogger<ControlPlane>());
        _started.Add(controlPlane);
        await controlPlane.StartAsync(cancellationToken);
        await controlPlane.SeedIfEmptyAsync(seed, cancellationToken);
        await Kafka.EnsureAsync(TopicsFor(Namespaces.All, Options.ApplicationId), cancellationToken);

        Memcached = await MemcachedProcess.StartAsync(Options.MemcachedPort, cancellationToken: cancellationToken);
        _started.Add(Memcached);

        var sinks = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink>
        {
            [Target.DestinationOneofCase.Memcached] = new MemcachedSink(new MemcachedSinkOptions
            {
                Clusters = new Dictionary<string, MemcachedClusterOptions> { [MemcachedCluster] = new() { Servers = [Memcached.Endpoint] } },
            }),
        });
        _started.Add(sinks);

        var topology = WalTopology.Build(Namespaces, sinks, new WalTopologyOptions { Region = Options.Region }, loggers);
        Topology = new KafkaStreams(topology, new StreamsConfig
        {
            ApplicationId = Options.ApplicationId,
            BootstrapServers = Kafka.BootstrapServers,
            StateDirectory = Options.StateDirectory,
            // One instance alone in its group: no one to wait for at the first join.
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromSeconds(1),
        }, loggers);
        _started.Add(Topology);
        await Topology.StartAsync(cancellationToken);

        Ingress = IngressHost.Build(
            new IngressOptions { BootstrapServers = Kafka.BootstrapServers, Region = Options.Region, Port = Options.IngressPort, AdminPort = Options.AdminPort },
            Namespaces,
            builder => builder.Logging.ClearProviders().AddProvider(new ForwardingLoggerProvider(loggers)));
        await Ingress.StartAsync(cancellationToken);
        _started.Add(Ingress);
    }

    /// <summary>Every topic the namespaces and their stores need.</summary>
    public static IReadOnlyCollection<TopicSpec> TopicsFor(IEnumerable<NamespaceConfig> namespaces, string applicationId) =>
        namespaces.SelectMany(ns => new[]
        {
            new TopicSpec(ns.Topic, ns.Partitions),
            new TopicSpec(ns.DeadLetterTopic, ns.Partitions),
            new TopicSpec($"{applicationId}-{WalTopology.TimerStoreName(ns.Name)}-changelog", ns.Partitions, Compacted: true),
        }).ToList();
}
