using Confluent.Kafka;

namespace Wal.Streams.TestDriver;

/// <summary>
/// Pipes records into one topic of a <see cref="TopologyTestDriver"/>. Records without an explicit timestamp get the topic's
/// current time, which then moves by the auto-advance step.
/// </summary>
/// <remarks>The synchronous methods need processors that complete synchronously; use the <c>Async</c> ones otherwise.</remarks>
public sealed class TestInputTopic<TKey, TValue>
{
    private readonly TopologyTestDriver _driver;
    private readonly ISerializer<TKey> _keySerializer;
    private readonly ISerializer<TValue> _valueSerializer;
    private readonly TimeSpan _autoAdvance;
    private DateTimeOffset _currentTime;

    internal TestInputTopic(TopologyTestDriver driver, string topic, ISerializer<TKey> keySerializer, ISerializer<TValue> valueSerializer, DateTimeOffset start, TimeSpan autoAdvance)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(autoAdvance, TimeSpan.Zero);
        _driver = driver;
        Name = topic;
        _keySerializer = keySerializer;
        _valueSerializer = valueSerializer;
        _currentTime = start;
        _autoAdvance = autoAdvance;
    }

    public string Name { get; }

    /// <summary>Moves the topic's current time (the timestamp of the next record without one).</summary>
    public void AdvanceTime(TimeSpan advance)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(advance, TimeSpan.Zero);
        _currentTime += advance;
    }

    /// <summary>Pipes a record without a key (null key bytes, whatever <typeparamref name="TKey"/> is), as a producer that sets none.</summary>
    public void PipeInput(TValue value) => SyncBridge.Complete(PipeKeylessAsync(value, NextTimestamp(null), default), nameof(PipeInputAsync));

    public void PipeInput(TKey key, TValue value) => SyncBridge.Complete(PipeInputAsync(key, value), nameof(PipeInputAsync));

    public void PipeInput(TKey key, TValue value, DateTimeOffset timestamp) =>
        SyncBridge.Complete(PipeInputAsync(key, value, timestamp), nameof(PipeInputAsync));

    public void PipeInput(Record<TKey, TValue> record) => SyncBridge.Complete(PipeInputAsync(record), nameof(PipeInputAsync));

    public void PipeKeyValueList(IEnumerable<KeyValuePair<TKey, TValue>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        foreach (var (key, value) in pairs)
        {
            PipeInput(key, value);
        }
    }

    public void PipeValueList(IEnumerable<TValue> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var value in values)
        {
            PipeInput(value);
        }
    }

    public ValueTask PipeInputAsync(TKey key, TValue value, DateTimeOffset? timestamp = null, CancellationToken cancellationToken = default) =>
        PipeInputAsync(new Record<TKey, TValue>(key, value, NextTimestamp(timestamp)), cancellationToken);

    public ValueTask PipeInputAsync(Record<TKey, TValue> record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var key = _keySerializer.Serialize(record.Key, new SerializationContext(MessageComponentType.Key, Name, record.Headers));
        var value = _valueSerializer.Serialize(record.Value, new SerializationContext(MessageComponentType.Value, Name, record.Headers));
        return _driver.PipeAsync(Name, key, value, record.Headers, record.Timestamp, cancellationToken);
    }

    private ValueTask PipeKeylessAsync(TValue value, long timestamp, CancellationToken cancellationToken)
    {
        var headers = new Headers();
        var bytes = _valueSerializer.Serialize(value, new SerializationContext(MessageComponentType.Value, Name, headers));
        return _driver.PipeAsync(Name, null, bytes, headers, timestamp, cancellationToken);
    }

    private long NextTimestamp(DateTimeOffset? explicitTimestamp)
    {
        if (explicitTimestamp is { } given)
        {
            return given.ToUnixTimeMilliseconds();
        }

        var timestamp = _currentTime.ToUnixTimeMilliseconds();
        _currentTime += _autoAdvance;
        return timestamp;
    }
}
