using System.Globalization;
using Confluent.Kafka;

namespace Wal.Cli.Operations;

/// <summary>
/// Where a replay starts or stops: an ISO-8601 time (<c>2026-11-22T02:00:00Z</c>), one offset for
/// every partition (<c>120</c>), or offsets per partition (<c>0:120,1:88</c>).
/// </summary>
internal sealed record LogPosition(DateTimeOffset? Time, long? AllOffset, IReadOnlyDictionary<int, long> Offsets)
{
    public static LogPosition? Parse(string text, out string? error)
    {
        error = null;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var all))
        {
            return new LogPosition(null, all, new Dictionary<int, long>());
        }

        if (text.Contains(':', StringComparison.Ordinal) && text.All(c => char.IsAsciiDigit(c) || c is ':' or ',' or ' '))
        {
            var offsets = new Dictionary<int, long>();
            foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var pieces = part.Split(':');
                if (pieces.Length != 2
                    || !int.TryParse(pieces[0], NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
                    || !long.TryParse(pieces[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                {
                    error = $"'{part}' in '{text}' is not PARTITION:OFFSET.";
                    return null;
                }

                if (pieces.Any(p => p.Length > 1 && p[0] == '0'))
                {
                    // "02:00" typed as a time of day read as partition 2 from its first offset, the rest not at all.
                    error = $"'{part}' in '{text}' looks like a time of day. Give a time with its date (e.g. 2026-11-22T02:00:00Z), or write PARTITION:OFFSET without leading zeros (e.g. 2:0).";
                    return null;
                }

                // A typo ("0:1,0:2" for "0:1,1:2") kept one offset of the two and left the intended partition unnamed.
                if (!offsets.TryAdd(partition, offset))
                {
                    error = $"partition {partition} is given twice in '{text}'. Give each partition once.";
                    return null;
                }
            }

            return new LogPosition(null, null, offsets);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return new LogPosition(time, null, new Dictionary<int, long>());
        }

        error = $"'{text}' is not a time (ISO-8601, e.g. 2026-11-22T02:00:00Z), an offset (e.g. 120) or PARTITION:OFFSET,... (e.g. 0:120,1:88).";
        return null;
    }

    /// <summary>
    /// The offset per partition, as asked: not clamped to what exists (<paramref name="marks"/>), so that the caller can
    /// refuse one past a partition's end and say what retention deleted. A partition not named in a per-partition list
    /// gets its start, or its end when <paramref name="unnamedAtEnd"/> (for --to).
    /// </summary>
    public Dictionary<TopicPartition, long> Resolve(
        IConsumer<byte[]?, byte[]?> consumer,
        IReadOnlyList<TopicPartition> partitions,
        IReadOnlyDictionary<TopicPartition, WatermarkOffsets> marks,
        bool unnamedAtEnd,
        CancellationToken cancellationToken = default)
    {
        if (Time is { } time)
        {
            var found = consumer.OffsetsForTimes(partitions.Select(p => new TopicPartitionTimestamp(p, new Timestamp(time))), TimeSpan.FromSeconds(10));
            bool? answered = null;
            return found.ToDictionary(f => f.TopicPartition, f =>
            {
                var partitionMarks = marks[f.TopicPartition];
                if (f.Offset.Value >= 0)
                {
                    return f.Offset.Value;
                }

                if (partitionMarks.Low.Value >= partitionMarks.High.Value)
                {
                    return partitionMarks.High.Value;
                }

                // "No record at or after the time" and "the broker cannot answer" (librdkafka's mock cluster) look alike.
                // A broker that answers a query for the first record at or after the epoch is sure of its "none".
                answered ??= AnswersQueriesByTime(consumer, f.TopicPartition);
                return answered.Value ? partitionMarks.High.Value : FirstAtOrAfter(consumer, f.TopicPartition, partitionMarks, time, cancellationToken);
            });
        }

        return partitions.ToDictionary(p => p, p =>
            AllOffset ?? (Offsets.TryGetValue(p.Partition.Value, out var o) ? o : unnamedAtEnd ? marks[p].High.Value : marks[p].Low.Value));
    }

    private static bool AnswersQueriesByTime(IConsumer<byte[]?, byte[]?> consumer, TopicPartition nonEmpty) =>
        consumer.OffsetsForTimes([new TopicPartitionTimestamp(nonEmpty, new Timestamp(0, TimestampType.CreateTime))], TimeSpan.FromSeconds(10))[0].Offset.Value >= 0;

    /// <summary>
    /// The first offset whose record's timestamp is at or after <paramref name="time"/>, as Kafka answers it, read in
    /// order: timestamps need not grow with offsets (a replicated record keeps its origin region's time), and a binary
    /// search over them landed past records in the range, which the replay then left out.
    /// </summary>
    private static long FirstAtOrAfter(
        IConsumer<byte[]?, byte[]?> consumer, TopicPartition partition, WatermarkOffsets marks, DateTimeOffset time, CancellationToken cancellationToken)
    {
        var starts = new Dictionary<TopicPartition, long> { [partition] = marks.Low.Value };
        var ends = new Dictionary<TopicPartition, long> { [partition] = marks.High.Value };
        foreach (var record in KafkaTopics.Scan(consumer, starts, ends, cancellationToken))
        {
            if (record.Message.Timestamp.UtcDateTime >= time)
            {
                return record.Offset.Value;
            }
        }

        return marks.High.Value;
    }
}
