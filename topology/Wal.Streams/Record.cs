using Confluent.Kafka;

namespace Wal.Streams;

/// <summary>
/// One record flowing through a topology: key, value, timestamp (Unix milliseconds) and headers.
/// Immutable: the <c>With*</c> methods return a new record and leave this one as it is.
/// </summary>
/// <remarks>
/// <see cref="Headers"/> is Confluent.Kafka's header list, shared (not copied) between a record and the records
/// derived from it with <c>WithKey</c>/<c>WithValue</c>/<c>WithTimestamp</c>; use <see cref="WithHeaders"/> to change them.
/// </remarks>
public sealed class Record<TKey, TValue>
{
    public Record(TKey key, TValue value, long timestamp, Headers? headers = null)
    {
        Key = key;
        Value = value;
        Timestamp = timestamp;
        Headers = headers ?? [];
    }

    public TKey Key { get; }

    public TValue Value { get; }

    /// <summary>The record's event time in Unix milliseconds.</summary>
    public long Timestamp { get; }

    public Headers Headers { get; }

    /// <summary>The timestamp as a <see cref="DateTimeOffset"/> (UTC).</summary>
    public DateTimeOffset TimestampAsDateTimeOffset => DateTimeOffset.FromUnixTimeMilliseconds(Timestamp);

    public Record<TNewKey, TValue> WithKey<TNewKey>(TNewKey key) => new(key, Value, Timestamp, Headers);

    public Record<TKey, TNewValue> WithValue<TNewValue>(TNewValue value) => new(Key, value, Timestamp, Headers);

    public Record<TKey, TValue> WithTimestamp(long timestamp) => new(Key, Value, timestamp, Headers);

    public Record<TKey, TValue> WithTimestamp(DateTimeOffset timestamp) => new(Key, Value, timestamp.ToUnixTimeMilliseconds(), Headers);

    public Record<TKey, TValue> WithHeaders(Headers headers) => new(Key, Value, Timestamp, headers);

    public override string ToString() => $"Record(key={Key}, value={Value}, timestamp={Timestamp})";
}
