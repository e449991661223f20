using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>Serializes records and hands them to the task's record collector for one topic.</summary>
internal sealed class SinkNode<TKey, TValue>(
    string name,
    string topic,
    ISerializer<TKey> keySerializer,
    ISerializer<TValue> valueSerializer,
    IStreamPartitioner<TKey, TValue>? partitioner) : ProcessorNode(name), INodeInput<TKey, TValue>
{
    private TaskContext? _task;

    public override void Init(TaskContext task, IReadOnlySet<string> storeNames) => _task = task;

    public ValueTask ProcessAsync(Record<TKey, TValue> record)
    {
        var task = _task!;
        var key = keySerializer.Serialize(record.Key, new SerializationContext(MessageComponentType.Key, topic, record.Headers));
        var value = valueSerializer.Serialize(record.Value, new SerializationContext(MessageComponentType.Value, topic, record.Headers));
        int? partition = partitioner is null
            ? null
            : partitioner.Partition(topic, record.Key, record.Value, task.Collector.PartitionCount(topic));
        task.Collector.Send(topic, partition, key, value, record.Headers, record.Timestamp);
        return default;
    }
}
