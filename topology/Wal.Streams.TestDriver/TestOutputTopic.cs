using Confluent.Kafka;

namespace Wal.Streams.TestDriver;

/// <summary>Reads, in order, what a <see cref="TopologyTestDriver"/>'s topology wrote to one topic; each record is read once.</summary>
public sealed class TestOutputTopic<TKey, TValue>
{
    private readonly Queue<ProducedRecord> _queue;
    private readonly IDeserializer<TKey> _keyDeserializer;
    private readonly IDeserializer<TValue> _valueDeserializer;

    internal TestOutputTopic(Queue<ProducedRecord> queue, string topic, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer)
    {
        _queue = queue;
        Name = topic;
        _keyDeserializer = keyDeserializer;
        _valueDeserializer = valueDeserializer;
    }

    public string Name { get; }

    public bool IsEmpty => _queue.Count == 0;

    public int QueueSize => _queue.Count;

    /// <exception cref="InvalidOperationException">The topic has no unread record.</exception>
    public Record<TKey, TValue> ReadRecord()
    {
        if (!_queue.TryDequeue(out var produced))
        {
            throw new InvalidOperationException($"No more records in topic '{Name}'.");
        }

        var key = _keyDeserializer.Deserialize(produced.Key, produced.Key is null, new SerializationContext(MessageComponentType.Key, Name, produced.Headers));
        var value = _valueDeserializer.Deserialize(produced.Value, produced.Value is null, new SerializationContext(MessageComponentType.Value, Name, produced.Headers));
        return new Record<TKey, TValue>(key, value, produced.Timestamp, produced.Headers);
    }

    public TValue ReadValue() => ReadRecord().Value;

    public KeyValuePair<TKey, TValue> ReadKeyValue()
    {
        var record = ReadRecord();
        return new KeyValuePair<TKey, TValue>(record.Key, record.Value);
    }

    public List<Record<TKey, TValue>> ReadRecordsToList()
    {
        var records = new List<Record<TKey, TValue>>(_queue.Count);
        while (!IsEmpty)
        {
            records.Add(ReadRecord());
        }

        return records;
    }

    public List<TValue> ReadValuesToList() => ReadRecordsToList().Select(r => r.Value).ToList();

    public List<KeyValuePair<TKey, TValue>> ReadKeyValuesToList() =>
        ReadRecordsToList().Select(r => new KeyValuePair<TKey, TValue>(r.Key, r.Value)).ToList();
}
