using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>The untyped face of a source node, used by the task that feeds it raw records.</summary>
internal interface ISourceNode
{
    string Name { get; }

    /// <summary>Deserializes <paramref name="raw"/> and keeps it for <see cref="ForwardPendingAsync"/>; false with the error when it cannot.</summary>
    bool TryDeserialize(ConsumeResult<byte[], byte[]> raw, long timestamp, out Exception? error);

    ValueTask ForwardPendingAsync();
}

internal sealed class SourceNode<TKey, TValue>(string name, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer)
    : ProcessorNode(name), ISourceNode
{
    private Forwarder<TKey, TValue>? _forwarder;
    private Record<TKey, TValue>? _pending;

    public override void Init(TaskContext task, IReadOnlySet<string> storeNames) => _forwarder = new Forwarder<TKey, TValue>(Name, Children);

    public bool TryDeserialize(ConsumeResult<byte[], byte[]> raw, long timestamp, out Exception? error)
    {
        var message = raw.Message;
        var headers = message.Headers ?? [];
        try
        {
            var key = keyDeserializer.Deserialize(message.Key, message.Key is null, new SerializationContext(MessageComponentType.Key, raw.Topic, headers));
            var value = valueDeserializer.Deserialize(message.Value, message.Value is null, new SerializationContext(MessageComponentType.Value, raw.Topic, headers));
            _pending = new Record<TKey, TValue>(key, value, timestamp, headers);
            error = null;
            return true;
        }
        catch (Exception e)
        {
            _pending = null;
            error = e;
            return false;
        }
    }

    public ValueTask ForwardPendingAsync()
    {
        var record = _pending ?? throw new InvalidOperationException("No deserialized record is pending.");
        _pending = null;
        return _forwarder!.ForwardAsync(record, null);
    }
}
