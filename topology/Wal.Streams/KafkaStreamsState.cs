namespace Wal.Streams;

/// <summary>The life cycle of a <see cref="KafkaStreams"/> instance, as Kafka Streams' <c>KafkaStreams.State</c>.</summary>
public enum KafkaStreamsState
{
    Created,

    /// <summary>Joining the group, being assigned tasks, or restoring their stores.</summary>
    Rebalancing,

    /// <summary>Every stream thread has its tasks restored and is processing.</summary>
    Running,

    PendingShutdown,

    NotRunning,

    /// <summary>A stream thread stopped on an unrecoverable error; see <see cref="KafkaStreams.FatalError"/>.</summary>
    Error,
}
