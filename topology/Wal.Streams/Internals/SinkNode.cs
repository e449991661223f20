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
        var partition = partitioner is null ? null : (int?)ChoosePartition(partitioner, record, task.Collector.PartitionCount(topic));
        task.Collector.Send(topic, partition, key, value, record.Headers, record.Timestamp);
        return default;
    }

    // Checked here, not left to the producer: librdkafka takes -1 as "any partition" and quietly partitions by key, and
    // the test driver, which has no producer, would pass any answer where the runtime fails the record.
    private int ChoosePartition(IStreamPartitioner<TKey, TValue> chooser, Record<TKey, TValue> record, int partitionCount)
    {
        var partition = chooser.Partition(topic, record.Key, record.Value, partitionCount);
        if (partition < 0 || partition >= partitionCount)
        {
            throw new StreamsException(
                $"The partitioner of sink '{Name}' chose partition {partition} of topic '{topic}', which has partitions 0 to {partitionCount - 1}.");
        }

        return partition;
    }
}
