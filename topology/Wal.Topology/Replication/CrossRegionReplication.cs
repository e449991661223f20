using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Schemas.V1;

namespace Wal.Topology.Replication;

/// <summary>
/// The replicators of one region: one <see cref="RegionReplicator"/> per (namespace with
/// <see cref="Persona.CrossRegionReplication"/>, other region it lists). Records arriving from
/// other regions need nothing here: they land in the local topic, and the region's topology
/// applies every record of that topic to its local sinks, whatever its origin.
/// </summary>
public sealed class CrossRegionReplication : IAsyncDisposable
{
    private readonly IReadOnlyList<RegionReplicator> _replicators;

    private CrossRegionReplication(IReadOnlyList<RegionReplicator> replicators) => _replicators = replicators;

    /// <summary>The replicators, one per (namespace, remote region).</summary>
    public IReadOnlyList<RegionReplicator> Replicators => _replicators;

    /// <summary>
    /// Plans the replicators of <paramref name="localRegion"/> for every replicating namespace.
    /// <paramref name="regionServers"/> (e.g. from <c>WAL_REGIONS</c>) maps region names to
    /// bootstrap servers and takes precedence over the namespace's own list, so one namespace file
    /// serves deployments whose clusters have different addresses; which regions take part is
    /// always the namespace's choice.
    /// </summary>
    /// <exception cref="ArgumentException">A replicating namespace does not list the local region.</exception>
    public static IReadOnlyList<RegionReplicatorOptions> Plan(
        IEnumerable<NamespaceConfig> namespaces, string localRegion, string localBootstrapServers, IReadOnlyDictionary<string, string>? regionServers = null)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        ArgumentException.ThrowIfNullOrWhiteSpace(localRegion);
        ArgumentException.ThrowIfNullOrWhiteSpace(localBootstrapServers);
        regionServers ??= new Dictionary<string, string>();
        var plan = new List<RegionReplicatorOptions>();
        foreach (var ns in namespaces.Where(n => n.Personas.Contains(Persona.CrossRegionReplication)))
        {
            if (!ns.Regions.Any(r => r.Name == localRegion))
            {
                throw new ArgumentException(
                    $"Namespace '{ns.Name}' replicates across regions [{string.Join(", ", ns.Regions.Select(r => r.Name))}], " +
                    $"but this instance runs in region '{localRegion}', which is not one of them. Add it to the namespace's regions or run with the right --region.",
                    nameof(localRegion));
            }

            foreach (var remote in ns.Regions.Where(r => r.Name != localRegion))
            {
                plan.Add(new RegionReplicatorOptions
                {
                    Namespace = ns.Name,
                    Topic = ns.Topic,
                    LocalRegion = localRegion,
                    Regions = new RegionNames(ns.Regions.Select(r => r.Name)),
                    DeadLetterTopic = ns.DeadLetterTopic.Length > 0 ? ns.DeadLetterTopic : null,
                    LocalBootstrapServers = localBootstrapServers,
                    RemoteRegion = remote.Name,
                    RemoteBootstrapServers = regionServers.TryGetValue(remote.Name, out var servers) ? servers : remote.BootstrapServers,
                });
            }
        }

        return plan;
    }

    /// <summary>Starts the replicators planned by <see cref="Plan"/> (none when no namespace replicates).</summary>
    public static async Task<CrossRegionReplication> StartAsync(
        IEnumerable<RegionReplicatorOptions> plan, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        loggers ??= NullLoggerFactory.Instance;
        var replicators = new List<RegionReplicator>();
        var replication = new CrossRegionReplication(replicators);
        try
        {
            foreach (var options in plan)
            {
                var replicator = new RegionReplicator(options, loggers.CreateLogger($"Wal.Topology.Replication.{options.Namespace}.{options.RemoteRegion}"));
                replicators.Add(replicator);
                await replicator.StartAsync(cancellationToken);
            }
        }
        catch
        {
            await replication.DisposeAsync();
            throw;
        }

        return replication;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replicator in _replicators)
        {
            await replicator.DisposeAsync();
        }
    }
}
