namespace Wal.Topology.Replication;

/// <summary>Headers a replicated record carries in the remote region's topic.</summary>
public static class ReplicationHeaders
{
    /// <summary>The region whose ingress accepted the record (the same as its <c>LogEntry.origin_region</c>).</summary>
    public const string OriginRegion = "wal.origin.region";

    /// <summary>Where the record sits in its origin region's topic: <c>topic/partition/offset</c>.</summary>
    public const string OriginPosition = "wal.origin.position";

    /// <summary>On a dead letter a replicator wrote in the origin region: the region that refused the record for good.</summary>
    public const string RefusedBy = "wal.replication.refused.by";
}
