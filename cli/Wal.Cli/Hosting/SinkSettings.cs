using Microsoft.Extensions.Logging;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Sinks.Cassandra;
using Wal.Sinks.Cassandra.Client;
using Wal.Sinks.Kafka;
using Wal.Sinks.Memcached;
using Wal.Sinks.Upstream;

namespace Wal.Cli.Hosting;

/// <summary>Which targets a topology instance can reach: clusters by the logical names targets use, and how long an attempt may take.</summary>
internal sealed record SinkSettings
{
    /// <summary>memcached cluster name → its servers (host:port).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> MemcachedClusters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>Cassandra cluster name → its contact points (host:port).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> CassandraClusters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>Kafka cluster name → its bootstrap servers (host:port), for Kafka targets that name a cluster.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> KafkaClusters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>The topology's own Kafka cluster: where Kafka targets that name no cluster go.</summary>
    public string? LocalKafka { get; init; }

    /// <summary>
    /// The topology's <c>DeliveryTimeout</c>, which ends every attempt: the Kafka sink's message timeout and the upstream
    /// sink's deadline are held to it, so nothing lands after the topology gave up and an upstream is told the real deadline.
    /// </summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Parses the cluster lists, each <c>name=host:port[;host:port],…</c>: <c>WAL_MEMCACHED_CLUSTERS</c>,
    /// <c>WAL_CASSANDRA_CLUSTERS</c> and <c>WAL_KAFKA_CLUSTERS</c> (or the options that stand for them).
    /// </summary>
    /// <exception cref="FormatException">A list is not name=value,…; the message names the list.</exception>
    public static SinkSettings FromText(string? memcachedClusters, string? cassandraClusters = null, string? kafkaClusters = null) => new()
    {
        MemcachedClusters = Clusters(memcachedClusters, Settings.WalEnvironment.MemcachedClusters),
        CassandraClusters = Clusters(cassandraClusters, Settings.WalEnvironment.CassandraClusters),
        KafkaClusters = Clusters(kafkaClusters, Settings.WalEnvironment.KafkaClusters),
    };

    /// <summary>
    /// A router over a sink for each kind of target that can be reached: memcached, Cassandra and named Kafka clusters
    /// when configured, the local Kafka cluster when known, and upstream applications always (their URL is in the target).
    /// </summary>
    /// <param name="namespaces">The namespaces as they change: Kafka targets never write into a topic Wal reads, in any cluster.</param>
    /// <param name="applicationId">The topology's application id, whose changelog and dead-letter topics are Wal's too.</param>
    /// <param name="loggers">Logging.</param>
    public SinkRouter CreateRouter(INamespaceRegistry namespaces, string applicationId, ILoggerFactory? loggers = null)
    {
        var sinks = new Dictionary<Target.DestinationOneofCase, ISink>();
        try
        {
            if (MemcachedClusters.Count > 0)
            {
                sinks[Target.DestinationOneofCase.Memcached] = new MemcachedSink(new MemcachedSinkOptions
                {
                    Clusters = MemcachedClusters.ToDictionary(c => c.Key, c => new MemcachedClusterOptions { Servers = c.Value }),
                });
            }

            if (CassandraClusters.Count > 0)
            {
                sinks[Target.DestinationOneofCase.Cassandra] = new CassandraSink(
                    new CassandraSinkOptions { Clusters = CassandraClusters.ToDictionary(c => c.Key, c => new CqlSessionOptions { ContactPoints = c.Value }) },
                    loggers);
            }

            if (LocalKafka is not null || KafkaClusters.Count > 0)
            {
                sinks[Target.DestinationOneofCase.Kafka] = new KafkaSink(new KafkaSinkOptions
                {
                    LocalBootstrapServers = LocalKafka,
                    Clusters = KafkaClusters.ToDictionary(c => c.Key, c => string.Join(',', c.Value)),
                    DeliveryTimeout = DeliveryTimeout,
                    ReservedTopic = topic => ReservedTopics.WhyReserved(topic, namespaces, applicationId: applicationId),
                });
            }

            sinks[Target.DestinationOneofCase.Upstream] = new UpstreamSink(new UpstreamSinkOptions
            {
                DefaultTimeout = DeliveryTimeout,
                MaxTimeout = DeliveryTimeout,
                UseGrpcForServiceMethodPaths = true,
            });
            return new SinkRouter(sinks);
        }
        catch
        {
            foreach (var sink in sinks.Values)
            {
                sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            throw;
        }
    }

    private static Dictionary<string, IReadOnlyList<string>> Clusters(string? text, string what) =>
        Settings.NamedEndpoints.Parse(text, what)
            .ToDictionary(c => c.Key, c => (IReadOnlyList<string>)c.Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
