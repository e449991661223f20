using System.Diagnostics.Metrics;

namespace Wal.Streams.Internals;

/// <summary>The runtime's instruments (System.Diagnostics.Metrics, meter <c>Wal.Streams</c>).</summary>
internal static class StreamsMetrics
{
    public static readonly Meter Meter = new("Wal.Streams");

    public static readonly Counter<long> StoreOperations = Meter.CreateCounter<long>("wal.streams.store.operations", description: "State store operations by store and operation.");

    public static readonly Counter<long> RecordsProcessed = Meter.CreateCounter<long>("wal.streams.records.processed", description: "Source records processed.");

    public static readonly Counter<long> RecordsRestored = Meter.CreateCounter<long>("wal.streams.records.restored", description: "Changelog records applied while restoring.");

    public static readonly Counter<long> DeserializationErrors = Meter.CreateCounter<long>("wal.streams.records.deserialization_errors", description: "Source records that failed to deserialize.");

    public static readonly Counter<long> Commits = Meter.CreateCounter<long>("wal.streams.commits", description: "Commits of a stream thread.");
}
