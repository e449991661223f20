using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Sinks.Memcached;

namespace Wal.Cli.Hosting;

/// <summary>Which target clusters a topology instance can reach, by logical name.</summary>
internal sealed record SinkSettings
{
    /// <summary>memcached cluster name → its servers (host:port).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> MemcachedClusters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>Parses <c>WAL_MEMCACHED_CLUSTERS</c>: <c>name=host:port[;host:port],…</c>.</summary>
    public static SinkSettings FromText(string? memcachedClusters) => new()
    {
        MemcachedClusters = Settings.NamedEndpoints.Parse(memcachedClusters, Settings.WalEnvironment.MemcachedClusters)
            .ToDictionary(c => c.Key, c => (IReadOnlyList<string>)c.Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)),
    };

    /// <summary>A router over a sink for each configured kind of target.</summary>
    public SinkRouter CreateRouter()
    {
        var sinks = new Dictionary<Target.DestinationOneofCase, ISink>();
        if (MemcachedClusters.Count > 0)
        {
            sinks[Target.DestinationOneofCase.Memcached] = new MemcachedSink(new MemcachedSinkOptions
            {
                Clusters = MemcachedClusters.ToDictionary(c => c.Key, c => new MemcachedClusterOptions { Servers = c.Value }),
            });
        }

        return new SinkRouter(sinks);
    }
}
