using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>What a replay did (or, dry, would do).</summary>
internal sealed record ReplayResult(long Read, long Written, long Excluded, long Unreadable, IReadOnlyDictionary<int, (long From, long To)> Ranges);

/// <summary>
/// Re-applies a range of a namespace's log: each entry is produced again to the namespace's
/// topic unchanged (same id, same accepted_at_ms version), so sinks' last-write-wins keeps
/// whatever is newest and the replay cannot roll an item back.
/// </summary>
internal sealed class LogReplayer(string bootstrapServers)
{
    public async Task<ReplayResult> ReplayAsync(
        NamespaceConfig ns, LogPosition from, LogPosition? to, IReadOnlySet<string> exclude, bool dryRun, Progress? progress, CancellationToken cancellationToken)
    {
        var partitions = KafkaTopics.Partitions(bootstrapServers, ns.Topic);
        // No commits: a replay is a one-off read and must not disturb any group.
        using var consumer = KafkaTopics.Consumer(bootstrapServers, $"wal-replay-{Guid.NewGuid():N}");
        var starts = from.Resolve(consumer, partitions, unnamedAtEnd: false);
        var high = KafkaTopics.Ends(consumer, partitions);
        var ends = to?.Resolve(consumer, partitions, unnamedAtEnd: true) ?? high;
        var total = partitions.Sum(p => Math.Max(0, ends[p] - starts[p]));
        if (progress is not null)
        {
            progress.Total = total;
        }

        using var producer = dryRun ? null : new LogEntryProducer(bootstrapServers);
        long read = 0, written = 0, excluded = 0, unreadable = 0;
        foreach (var record in KafkaTopics.Scan(consumer, starts, ends, cancellationToken))
        {
            read++;
            LogEntry entry;
            try
            {
                entry = LogEntry.Parser.ParseFrom(record.Message.Value ?? []);
            }
            catch (Google.Protobuf.InvalidProtocolBufferException)
            {
                unreadable++;
                continue;
            }

            if (exclude.Contains(entry.Id))
            {
                excluded++;
            }
            else if (producer is not null)
            {
                await producer.ProduceAsync(ns.Topic, entry, cancellationToken);
                written++;
            }

            progress?.Report(read, written);
        }

        progress?.Report(read, written, final: true);
        return new ReplayResult(read, written, excluded, unreadable, partitions.ToDictionary(p => p.Partition.Value, p => (starts[p], ends[p])));
    }
}
