using Confluent.Kafka;
using Wal.Streams.Internals;

namespace Wal.Streams.TestDriver;

/// <summary>Collects what the driver's tasks write: kept per topic for output topics, and queued again when a topology reads the topic itself.</summary>
internal sealed class CapturingCollector(IReadOnlySet<string> sourceTopics, TimeProvider clock, ProducerSizeLimit sizeLimit) : IRecordCollector
{
    private readonly Dictionary<string, Queue<ProducedRecord>> _outputs = new(StringComparer.Ordinal);
    private readonly Dictionary<TopicPartition, long> _offsets = [];
    // Apart from the queues: a test making an output topic to read (a typo, say) has not seen the topology write to it.
    private readonly List<string> _written = [];

    public Queue<(string Topic, ProducedRecord Record)> Internal { get; } = new();

    /// <summary>The topics written to so far, in the order of their first record.</summary>
    public IEnumerable<string> Topics => _written;

    public Queue<ProducedRecord> Output(string topic)
    {
        if (!_outputs.TryGetValue(topic, out var queue))
        {
            queue = new Queue<ProducedRecord>();
            _outputs[topic] = queue;
        }

        return queue;
    }

    public void Send(string topic, int? partition, byte[]? key, byte[]? value, Headers? headers, long timestamp)
    {
        // Refused before anything is kept, as librdkafka refuses it inside Produce.
        sizeLimit.Check(topic, key, value, headers ?? []);
        // Copied as the producer copies a record when it is sent: a buffer or header changed later is not what was written.
        // librdkafka stamps a record whose timestamp is 0 with the time it is produced.
        var record = new ProducedRecord(
            key?.ToArray(), value?.ToArray(), TopologyTestDriver.Copy(headers ?? []),
            timestamp == 0 ? clock.GetUtcNow().ToUnixTimeMilliseconds() : timestamp, partition);
        var output = Output(topic);
        if (!_written.Contains(topic))
        {
            _written.Add(topic);
        }

        output.Enqueue(record);
        var topicPartition = new TopicPartition(topic, partition ?? 0);
        _offsets[topicPartition] = _offsets.TryGetValue(topicPartition, out var last) ? last + 1 : 0;
        if (sourceTopics.Contains(topic))
        {
            Internal.Enqueue((topic, record));
        }
    }

    public void Flush()
    {
    }

    public int PartitionCount(string topic) => 1;

    public long? AcknowledgedOffset(TopicPartition partition) => _offsets.TryGetValue(partition, out var offset) ? offset : null;
}
