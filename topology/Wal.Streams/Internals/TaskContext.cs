using Confluent.Kafka;
using Wal.Streams.State;

namespace Wal.Streams.Internals;

/// <summary>What every node of one task shares: identity, clocks, stores, the collector and the record being processed.</summary>
internal sealed class TaskContext(TaskId id, string applicationId, TimeProvider time, IRecordCollector collector)
{
    public TaskId Id { get; } = id;

    public string ApplicationId { get; } = applicationId;

    public TimeProvider Time { get; } = time;

    public IRecordCollector Collector { get; } = collector;

    /// <summary>The outermost (metered) store of each name.</summary>
    public Dictionary<string, IStateStore> Stores { get; } = new(StringComparer.Ordinal);

    public RecordMetadata? CurrentMetadata { get; set; }

    /// <summary>Timestamp of the record (or punctuation) in progress; changelog records carry it.</summary>
    public long CurrentTimestamp { get; set; }

    public Headers? CurrentHeaders { get; set; }

    /// <summary>The largest timestamp processed, or -1 before the first record.</summary>
    public long StreamTime { get; set; } = -1;

    public bool CommitRequested { get; set; }

    /// <summary>Whether the task has read all the input its consumer knows of (see <see cref="IProcessorContext{K,V}.InputCaughtUp"/>).</summary>
    public Func<bool> InputCaughtUp { get; init; } = static () => true;

    public PunctuationQueue StreamTimePunctuations { get; } = new();

    public PunctuationQueue WallClockPunctuations { get; } = new();

    public long WallClockMs => Time.GetUtcNow().ToUnixTimeMilliseconds();
}
