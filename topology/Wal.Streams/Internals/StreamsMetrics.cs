using System.Collections.Concurrent;
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

    // The threads whose stores the gauge below adds up: each registers while it runs.
    private static readonly ConcurrentDictionary<StreamThread, byte> Threads = new();

    public static readonly ObservableGauge<long> StoreEntries = Meter.CreateObservableGauge(
        "wal.streams.store.entries",
        ObserveStoreEntries,
        "{entry}",
        "Entries in each state store over this process's running tasks, as each thread counted them at its last commit (RocksDB's estimate for persistent stores).");

    public static void Track(StreamThread thread) => Threads[thread] = 0;

    public static void Untrack(StreamThread thread) => Threads.TryRemove(thread, out _);

    private static IEnumerable<Measurement<long>> ObserveStoreEntries() =>
        Threads.Keys
            .SelectMany(t => t.StoreEntries)
            .GroupBy(e => e.Key, StringComparer.Ordinal)
            .Select(g => new Measurement<long>(g.Sum(e => e.Value), new KeyValuePair<string, object?>("store", g.Key)));
}
