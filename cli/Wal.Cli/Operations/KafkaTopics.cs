using Confluent.Kafka;

namespace Wal.Cli.Operations;

/// <summary>Small Kafka reads the operator commands share: partitions, watermarks, bounded scans.</summary>
internal static class KafkaTopics
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static IConsumer<byte[]?, byte[]?> Consumer(string bootstrapServers, string groupId) =>
        new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // A scan ends at a partition's end even when its last offsets are no records (see Scan).
            EnablePartitionEof = true,
        }).Build();

    /// <summary>The topic's partitions; a <see cref="CliException"/> naming the topic if it does not exist.</summary>
    public static IReadOnlyList<TopicPartition> Partitions(string bootstrapServers, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        var metadata = admin.GetMetadata(topic, Timeout).Topics.Single();
        if (metadata.Error.IsError || metadata.Partitions.Count == 0)
        {
            throw new CliException(ExitCodes.Failed, $"topic '{topic}' cannot be read: {metadata.Error.Reason}",
                "Check the namespace name ('wal namespaces list') and --bootstrap-servers.");
        }

        return [.. metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value)];
    }

    public static WatermarkOffsets Watermarks(IConsumer<byte[]?, byte[]?> consumer, TopicPartition partition) =>
        consumer.QueryWatermarkOffsets(partition, Timeout);

    /// <summary>The group's committed offset per partition, for those it has one for.</summary>
    public static Dictionary<TopicPartition, long> Committed(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<TopicPartition> partitions) =>
        consumer.Committed(partitions, Timeout).Where(c => c.Offset.Value >= 0).ToDictionary(c => c.TopicPartition, c => c.Offset.Value);

    /// <summary>The group's committed offset per partition; the low watermark where it has none.</summary>
    public static Dictionary<TopicPartition, long> CommittedOrStart(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<TopicPartition> partitions)
    {
        // Not below the start: retention may have deleted what the group last committed, and a scan from there waited for
        // records that no longer exist.
        var committed = consumer.Committed(partitions, Timeout).ToDictionary(c => c.TopicPartition, c => c.Offset.Value);
        return partitions.ToDictionary(p => p, p => Math.Max(committed.TryGetValue(p, out var offset) ? offset : -1, Watermarks(consumer, p).Low.Value));
    }

    /// <summary>
    /// Reads every partition from its start (inclusive) to its end (exclusive), in offset order per
    /// partition. Ends are fixed by the caller, so records appended meanwhile (e.g. a redriven
    /// record that fails again) are not read in this pass.
    /// </summary>
    public static IEnumerable<ConsumeResult<byte[]?, byte[]?>> Scan(
        IConsumer<byte[]?, byte[]?> consumer, IReadOnlyDictionary<TopicPartition, long> starts, IReadOnlyDictionary<TopicPartition, long> ends, CancellationToken cancellationToken)
    {
        var pending = starts.Where(s => s.Value < ends[s.Key]).Select(s => s.Key).ToHashSet();
        if (pending.Count == 0)
        {
            yield break;
        }

        consumer.Assign(pending.Select(p => new TopicPartitionOffset(p, starts[p])));
        try
        {
            while (pending.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is null || !pending.Contains(result.TopicPartition))
                {
                    continue;
                }

                if (result.IsPartitionEOF)
                {
                    // The consumer read to the end: no record is left below it. A partition whose last offsets are no
                    // records (a transaction's commit marker, which the topology writes under exactly-once; records
                    // compacted away) never yields one at its last offset, and the scan used to wait for it.
                    if (result.Offset.Value >= ends[result.TopicPartition])
                    {
                        pending.Remove(result.TopicPartition);
                    }

                    continue;
                }

                if (result.Offset.Value >= ends[result.TopicPartition])
                {
                    pending.Remove(result.TopicPartition);
                    continue;
                }

                yield return result;
                if (result.Offset.Value + 1 >= ends[result.TopicPartition])
                {
                    pending.Remove(result.TopicPartition);
                }
            }
        }
        finally
        {
            consumer.Unassign();
        }
    }

    /// <summary>Every partition's high watermark: the end of what exists now.</summary>
    public static Dictionary<TopicPartition, long> Ends(IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<TopicPartition> partitions) =>
        partitions.ToDictionary(p => p, p => Watermarks(consumer, p).High.Value);
}
