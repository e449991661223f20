using Wal.Sinks.Cassandra.Client;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra;

/// <summary>The Cassandra clusters a region can write to, by the logical name targets use.</summary>
public sealed record CassandraSinkOptions
{
    /// <summary>Logical cluster name (CassandraTarget.cluster) → how to reach it.</summary>
    public IReadOnlyDictionary<string, CqlSessionOptions> Clusters { get; init; } = new Dictionary<string, CqlSessionOptions>();

    /// <summary>
    /// Consistency of every write. LOCAL_QUORUM by default: a majority of the local data center's
    /// replicas acknowledge, so a later LOCAL_QUORUM read sees the write, without waiting for
    /// other regions.
    /// </summary>
    public CqlConsistency Consistency { get; init; } = CqlConsistency.LocalQuorum;

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        if (Clusters.Count == 0)
        {
            throw new ArgumentException("The Cassandra sink needs at least one cluster.", nameof(Clusters));
        }

        foreach (var (name, cluster) in Clusters)
        {
            try
            {
                cluster.Validate();
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Cassandra cluster '{name}': {e.Message}", nameof(Clusters), e);
            }
        }

        if (Consistency is CqlConsistency.Serial or CqlConsistency.LocalSerial || !Enum.IsDefined(Consistency))
        {
            throw new ArgumentOutOfRangeException(nameof(Consistency), Consistency, "Not a consistency level for plain writes.");
        }
    }
}
