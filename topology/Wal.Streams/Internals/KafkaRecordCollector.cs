using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>
/// Sends a stream thread's output (sinks, changelogs, dead letters) through one producer and tracks, per partition,
/// the highest acknowledged offset (for checkpoints) and the first delivery failure (raised at the next send or flush).
/// </summary>
internal sealed class KafkaRecordCollector : IRecordCollector, IDisposable
{
    // The producer reads a message's headers and never changes them; without this it makes a new empty list per record.
    private static readonly Headers NoHeaders = [];

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly Action<DeliveryReport<byte[]?, byte[]?>> _onDelivery;
    private readonly Dictionary<(string Topic, int Partition), long> _acknowledged = [];
    // _acknowledged as of the last offset commit the group accepted (see ConfirmAcknowledged).
    private readonly Dictionary<(string Topic, int Partition), long> _confirmed = [];
    private readonly Dictionary<string, int> _partitionCounts = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly bool _transactional;
    private Exception? _failure;

    public KafkaRecordCollector(IProducer<byte[]?, byte[]?> producer, bool transactional)
    {
        _producer = producer;
        _transactional = transactional;
        _onDelivery = OnDelivery;
    }

    public IProducer<byte[]?, byte[]?> Producer => _producer;

    /// <summary>Under exactly-once: whether a transaction is open (begun at the first send after a commit).</summary>
    public bool InTransaction { get; private set; }

    public void Send(string topic, int? partition, byte[]? key, byte[]? value, Headers? headers, long timestamp) =>
        Produce(partition is { } p ? new TopicPartition(topic, p) : new TopicPartition(topic, Partition.Any), key, value, headers, timestamp);

    public void Send(TopicPartition partition, byte[]? key, byte[]? value, long timestamp) =>
        Produce(partition, key, value, headers: null, timestamp);

    public void BeginTransaction()
    {
        _producer.BeginTransaction();
        InTransaction = true;
    }

    public void Flush()
    {
        while (_producer.Flush(TimeSpan.FromSeconds(1)) > 0)
        {
            ThrowIfFailed();
        }

        ThrowIfFailed();
    }

    /// <summary>Commits the open transaction with the consumer's offsets (exactly-once).</summary>
    public void CommitTransaction(IReadOnlyList<TopicPartitionOffset> offsets, IConsumerGroupMetadata group, TimeSpan timeout)
    {
        if (!InTransaction)
        {
            BeginTransaction();
        }

        if (offsets.Count > 0)
        {
            _producer.SendOffsetsToTransaction(offsets, group, timeout);
        }

        _producer.CommitTransaction(timeout);
        InTransaction = false;
        ThrowIfFailed();
    }

    public void AbortTransaction(TimeSpan timeout)
    {
        if (InTransaction)
        {
            InTransaction = false;
            _producer.AbortTransaction(timeout);
        }

        lock (_gate)
        {
            _failure = null;
        }
    }

    public int PartitionCount(string topic)
    {
        if (_partitionCounts.TryGetValue(topic, out var count))
        {
            return count;
        }

        var metadata = ClusterMetadata.Read(_producer.Handle, topic, TimeSpan.FromSeconds(10)).Topics.SingleOrDefault();
        if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
        {
            throw new StreamsException($"Cannot learn the partition count of topic '{topic}': {metadata?.Error.Reason ?? "no metadata"}.");
        }

        _partitionCounts[topic] = metadata.Partitions.Count;
        return metadata.Partitions.Count;
    }

    public long? AcknowledgedOffset(TopicPartition partition)
    {
        lock (_gate)
        {
            return _acknowledged.TryGetValue((partition.Topic, partition.Partition.Value), out var offset) ? offset : null;
        }
    }

    public long? ConfirmedOffset(TopicPartition partition)
    {
        lock (_gate)
        {
            return _confirmed.TryGetValue((partition.Topic, partition.Partition.Value), out var offset) ? offset : null;
        }
    }

    /// <summary>
    /// Called after the group accepted an offset commit of this thread's: what was acknowledged before it was written while
    /// the thread still owned its partitions, so checkpoints may vouch for it. A thread that fell out of the group learns it
    /// only at its next poll, and what it writes meanwhile can land after the new owner's changelog records; a checkpoint
    /// past them made the next restore here skip them.
    /// </summary>
    public void ConfirmAcknowledged()
    {
        lock (_gate)
        {
            foreach (var (partition, offset) in _acknowledged)
            {
                _confirmed[partition] = offset;
            }
        }
    }

    public void Dispose()
    {
        _producer.Dispose();
    }

    private void Produce(TopicPartition partition, byte[]? key, byte[]? value, Headers? headers, long timestamp)
    {
        ThrowIfFailed();
        if (_transactional && !InTransaction)
        {
            BeginTransaction();
        }

        var message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers ?? NoHeaders, Timestamp = new Timestamp(timestamp, TimestampType.CreateTime) };
        while (true)
        {
            try
            {
                _producer.Produce(partition, message, _onDelivery);
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                // Back-pressure: the local queue drains as the brokers acknowledge.
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void OnDelivery(DeliveryReport<byte[]?, byte[]?> report)
    {
        lock (_gate)
        {
            if (report.Error.IsError)
            {
                _failure ??= new StreamsException($"Sending a record to {report.Topic} failed: {report.Error.Reason} ({report.Error.Code}).");
                return;
            }

            var partition = (report.Topic, report.Partition.Value);
            if (!_acknowledged.TryGetValue(partition, out var previous) || report.Offset.Value > previous)
            {
                _acknowledged[partition] = report.Offset.Value;
            }
        }
    }

    // Once per record sent: a volatile read, not the lock, which the delivery thread takes for every acknowledgement.
    private void ThrowIfFailed()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            throw failure;
        }
    }
}
