using Confluent.Kafka;
using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

/// <summary>A record collector for tests that build tasks or stores by hand and expect no output from them.</summary>
internal sealed class NoOutputCollector : IRecordCollector
{
    public void Send(string topic, int? partition, byte[]? key, byte[]? value, Headers? headers, long timestamp) =>
        throw new InvalidOperationException($"Unexpected output to {topic}.");

    public void Flush()
    {
    }

    public int PartitionCount(string topic) => 1;

    public long? AcknowledgedOffset(TopicPartition partition) => null;
}
