using Wal.Streams.State;

namespace Wal.Streams.Internals;

/// <summary>One processor's view of its task.</summary>
internal sealed class ProcessorContextImpl<TKeyOut, TValueOut>(
    TaskContext task,
    string nodeName,
    Forwarder<TKeyOut, TValueOut> forwarder,
    IReadOnlySet<string> storeNames) : IProcessorContext<TKeyOut, TValueOut>
{
    public string ApplicationId => task.ApplicationId;

    public TaskId TaskId => task.Id;

    public RecordMetadata? RecordMetadata => task.CurrentMetadata;

    public DateTimeOffset CurrentSystemTime => task.Time.GetUtcNow();

    public long CurrentStreamTimeMs => task.StreamTime;

    public bool InputCaughtUp => task.InputCaughtUp();

    public ValueTask ForwardAsync(Record<TKeyOut, TValueOut> record, string? childName = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        return forwarder.ForwardAsync(record, childName);
    }

    public ValueTask FlushAsync()
    {
        task.Collector.Flush();
        return default;
    }

    public TStore GetStateStore<TStore>(string name)
        where TStore : class, IStateStore
    {
        if (!storeNames.Contains(name) || !task.Stores.TryGetValue(name, out var store))
        {
            throw new StreamsException(
                $"Processor '{nodeName}' has no access to store '{name}'; connect them with TopologyBuilder.AddStateStore(builder, \"{nodeName}\").");
        }

        return store as TStore
            ?? throw new StreamsException($"Store '{name}' is a {store.GetType().Name}, not a {typeof(TStore).Name}.");
    }

    public ICancellable Schedule(TimeSpan interval, PunctuationType type, Func<DateTimeOffset, ValueTask> punctuator)
    {
        ArgumentNullException.ThrowIfNull(punctuator);
        var intervalMs = (long)interval.TotalMilliseconds;
        ArgumentOutOfRangeException.ThrowIfLessThan(intervalMs, 1L, nameof(interval));
        switch (type)
        {
            case PunctuationType.StreamTime:
                // Aligned to 0: the first record fires it, later ones on multiples of the interval (as Kafka Streams).
                var streamSchedule = new PunctuationSchedule(nodeName, intervalMs, 0, punctuator);
                task.StreamTimePunctuations.Add(streamSchedule);
                return streamSchedule;
            case PunctuationType.WallClockTime:
                var wallSchedule = new PunctuationSchedule(nodeName, intervalMs, task.WallClockMs + intervalMs, punctuator);
                task.WallClockPunctuations.Add(wallSchedule);
                return wallSchedule;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown punctuation type.");
        }
    }

    public void Commit() => task.CommitRequested = true;
}
