using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>Where a task's outgoing records go: a Kafka producer, or the test driver's capture.</summary>
internal interface IRecordCollector
{
    /// <summary>Queues a record; a null <paramref name="partition"/> lets the partitioner choose from the key.</summary>
    void Send(string topic, int? partition, byte[]? key, byte[]? value, Headers? headers, long timestamp);

    /// <summary>Queues a record without headers to one known partition (a changelog).</summary>
    void Send(TopicPartition partition, byte[]? key, byte[]? value, long timestamp) =>
        Send(partition.Topic, partition.Partition.Value, key, value, headers: null, timestamp);

    /// <summary>Waits until every queued record is acknowledged; throws <see cref="StreamsException"/> if any failed.</summary>
    void Flush();

    /// <summary>The number of partitions of <paramref name="topic"/> (for custom partitioners).</summary>
    int PartitionCount(string topic);

    /// <summary>The highest acknowledged offset written to <paramref name="partition"/>, or null if none was.</summary>
    long? AcknowledgedOffset(TopicPartition partition);

    /// <summary>
    /// The highest offset written to <paramref name="partition"/> that was acknowledged before the group last accepted this
    /// collector's owner as a member (an offset commit it took), or null: the most a checkpoint may vouch for. Without a
    /// group, every acknowledged offset.
    /// </summary>
    long? ConfirmedOffset(TopicPartition partition) => AcknowledgedOffset(partition);
}
