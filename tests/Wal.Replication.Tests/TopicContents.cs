using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Wal.Schemas.V1;

namespace Wal.Replication.Tests;

/// <summary>Reads what a cluster holds: every record of a topic, and a consumer group's committed offsets.</summary>
internal static class TopicContents
{
    public sealed record Entry(string Key, LogEntry Value, int Partition, IReadOnlyDictionary<string, string> Headers);

    /// <summary>Every record of the topic, in partition then offset order.</summary>
    public static IReadOnlyList<Entry> ReadAll(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var result = new List<Entry>();
        var atEnd = new HashSet<int>();
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (atEnd.Count < partitions)
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"could not read {topic} to its end within 10 s");
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is null)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                atEnd.Add(record.Partition.Value);
                continue;
            }

            result.Add(new Entry(
                Encoding.UTF8.GetString(record.Message.Key),
                LogEntry.Parser.ParseFrom(record.Message.Value),
                record.Partition.Value,
                (record.Message.Headers ?? []).ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()))));
        }

        return result;
    }

    /// <summary>The sum over partitions of a group's committed offsets (0 for a partition without one).</summary>
    public static long CommittedTotal(string bootstrapServers, string groupId, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = groupId }).Build();
        var committed = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(5));
        return committed.Sum(c => c.Offset.Value < 0 ? 0 : c.Offset.Value);
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> at the deadline.</summary>
    public static Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        Eventually.WaitUntilAsync(condition, timeout, what, TimeSpan.FromMilliseconds(100));
}
