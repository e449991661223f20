using Microsoft.Extensions.Logging;
using Wal.Topology.Replication;

namespace Wal.Cli.Local;

/// <summary>
/// <c>wal up --regions 2</c>: two <see cref="LocalStack"/>s as regions a and b (each its own
/// embedded Kafka, memcached, topology and ingress), with cross-region replication running both
/// ways for every namespace that has the persona, following each region's control plane (a
/// namespace created or deleted later starts or stops replicating without a restart). The
/// namespaces' region lists name a and b; the addresses they give are replaced by the embedded
/// clusters' (as <c>--regions</c> does for <c>wal topology</c>).
/// </summary>
internal sealed class TwoRegionStack : IAsyncDisposable
{
    /// <summary>The regions' names, as the namespaces' region lists must name them.</summary>
    public static readonly IReadOnlyList<string> RegionNames = ["a", "b"];

    private readonly List<LocalStack> _regions = [];
    private readonly List<ReplicationHost> _replication = [];

    private TwoRegionStack()
    {
    }

    /// <summary>Region a, then region b.</summary>
    public IReadOnlyList<LocalStack> Regions => _regions;

    /// <summary>The namespaces replicated between the regions now.</summary>
    public IReadOnlyList<string> Replicated => [.. _replication.SelectMany(r => r.Namespaces).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>
    /// Starts both regions. Region a takes <paramref name="options"/>' ports; region b the gRPC and
    /// admin ports 10 above and the memcached port 1 above (0 stays "any free port").
    /// </summary>
    public static async Task<TwoRegionStack> StartAsync(LocalStackOptions options, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        var stack = new TwoRegionStack();
        try
        {
            foreach (var regionOptions in RegionOptions(options))
            {
                stack._regions.Add(await LocalStack.StartAsync(regionOptions, loggers, cancellationToken));
            }

            var servers = stack._regions.ToDictionary(r => r.Options.Region, r => r.Kafka.BootstrapServers);
            foreach (var region in stack._regions)
            {
                var host = new ReplicationHost(
                    region.Namespaces,
                    namespaces => CrossRegionReplication.Plan(namespaces, region.Options.Region, region.Kafka.BootstrapServers, servers),
                    region.Kafka,
                    loggers,
                    metrics: region.Metrics);
                stack._replication.Add(host);
                await host.StartAsync(cancellationToken);
            }

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
        // Replicators first: they read one region and write the other.
        foreach (var replication in _replication)
        {
            await replication.DisposeAsync();
        }

        foreach (var region in _regions)
        {
            await region.DisposeAsync();
        }

        _replication.Clear();
        _regions.Clear();
    }

    /// <summary>Each region's options, region a first, as <see cref="StartAsync"/> starts them (ports shifted for b).</summary>
    public static IEnumerable<LocalStackOptions> RegionOptions(LocalStackOptions options) =>
        Enumerable.Range(0, RegionNames.Count).Select(index => ForRegion(options, index));

    private static LocalStackOptions ForRegion(LocalStackOptions options, int index) => options with
    {
        Region = RegionNames[index],
        IngressPort = Shift(options.IngressPort, 10 * index),
        AdminPort = Shift(options.AdminPort, 10 * index),
        TopologyAdminPort = Shift(options.TopologyAdminPort, 10 * index),
        MemcachedPort = Shift(options.MemcachedPort, index),
        StateDirectory = $"{options.StateDirectory}-{RegionNames[index]}",
    };

    private static int Shift(int port, int by) => port <= 0 ? port : port + by;
}
