namespace Wal.Benchmarks.Ingress;

/// <summary>Durable writes over a measured stretch, the records the topic gained meanwhile, and the writes that were not durable.</summary>
internal sealed record ThroughputSample(long Durable, long TopicDelta, long NotDurable, TimeSpan Elapsed)
{
    /// <summary>The smaller of the two counts per second: a write counts only if it was both acknowledged and is in the topic.</summary>
    public double PerSecond => Math.Min(Durable, TopicDelta) / Elapsed.TotalSeconds;
}
