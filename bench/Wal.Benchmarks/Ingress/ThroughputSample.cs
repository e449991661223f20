namespace Wal.Benchmarks.Ingress;

/// <summary>
/// Durable writes over a measured stretch, the records the topic gained meanwhile, the writes that were not durable,
/// and of those the ones answered FALSE (definitely not written; none for the raw producer).
/// </summary>
internal sealed record ThroughputSample(long Durable, long TopicDelta, long NotDurable, TimeSpan Elapsed, long NotWritten = 0)
{
    /// <summary>The smaller of the two counts per second: a write counts only if it was both acknowledged and is in the topic.</summary>
    public double PerSecond => Math.Min(Durable, TopicDelta) / Elapsed.TotalSeconds;
}
