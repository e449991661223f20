namespace Wal.Topology.Dispatch;

/// <summary>What one delivery attempt of an entry's (dispatch) or a mutation chunk's came to, as <see cref="TopologyMetrics"/> counts it.</summary>
public enum DeliveryAttemptOutcome
{
    /// <summary>The target took the entry.</summary>
    Delivered,

    /// <summary>The target held a newer version; nothing needed writing.</summary>
    Superseded,

    /// <summary>Failed; a retry's timer is set.</summary>
    Retried,

    /// <summary>Failed for good, or for the last time: the entry (or the chunk's mutation) went to the dead-letter topic.</summary>
    DeadLettered,
}
