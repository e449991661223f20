using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Topology.Dispatch;

namespace Wal.Topology.Mutations;

/// <summary>
/// Counts one apply attempt of a mutation on <see cref="TopologyMetrics"/> a chunk at a time, as dispatch counts an
/// entry's attempt: each chunk is a log entry its writer had acknowledged, bound for one sink, so an operator sees a
/// sink refusing chunks in the same series as a sink refusing entries. Every chunk the sink confirmed counts, and the
/// chunk the attempt stopped at; the chunks behind that one were not answered, and count with the attempt that
/// reaches them.
/// </summary>
internal sealed class ChunkAttempts
{
    private readonly TopologyMetrics _metrics;
    private readonly string _namespace;
    private readonly Target.DestinationOneofCase _sink;
    private readonly long _dueAtMs;

    // One ordered call answers all of an attempt's chunks together.
    private long _answeredAtMs;

    /// <param name="metrics">Where the attempts are counted.</param>
    /// <param name="namespace">The mutation's namespace.</param>
    /// <param name="sink">The namespace's default target's kind, which decides every chunk's sink.</param>
    /// <param name="dueAtMs">When the attempt was due: the mutation found complete, or its retry's timer.</param>
    public ChunkAttempts(TopologyMetrics metrics, string @namespace, Target.DestinationOneofCase sink, long dueAtMs)
    {
        _metrics = metrics;
        _namespace = @namespace;
        _sink = sink;
        _dueAtMs = dueAtMs;
        _answeredAtMs = dueAtMs;
    }

    public void Answered(long atMs) => _answeredAtMs = atMs;

    public void Confirmed(DeliveryOutcome outcome) =>
        Count(outcome == DeliveryOutcome.Superseded ? DeliveryAttemptOutcome.Superseded : DeliveryAttemptOutcome.Delivered);

    /// <summary>The chunk the attempt stopped at: <see cref="DeliveryAttemptOutcome.Retried"/> or <see cref="DeliveryAttemptOutcome.DeadLettered"/>.</summary>
    public void Stopped(DeliveryAttemptOutcome outcome) => Count(outcome);

    private void Count(DeliveryAttemptOutcome outcome) => _metrics.Attempted(_namespace, _sink, outcome, _dueAtMs, _answeredAtMs);
}
