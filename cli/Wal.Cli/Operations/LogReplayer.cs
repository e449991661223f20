using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>What a replay did (or, dry, would do).</summary>
internal sealed record ReplayResult(long Read, long Written, long Excluded, long Unreadable, long OtherKind, IReadOnlyDictionary<int, (long From, long To)> Ranges)
{
    /// <summary>Entries that are (or, dry, would be) produced again.</summary>
    public long Applicable => Read - Excluded - Unreadable - OtherKind;
}

/// <summary>
/// Re-applies a range of a namespace's log: each entry is produced again to the namespace's
/// topic unchanged (same id, same accepted_at_ms version), so sinks' last-write-wins keeps
/// whatever is newest and the replay cannot roll an item back. With a <see cref="ReplayTarget"/>,
/// each entry's target is rewritten first and the rewritten entry is produced to the log, so the
/// topology applies it through the usual at-least-once path (delay, retries, dead letters);
/// entries of another kind of target, and mutation chunks and markers (their table decides where
/// they go), are skipped and counted.
/// </summary>
internal sealed class LogReplayer(string bootstrapServers)
{
    public async Task<ReplayResult> ReplayAsync(
        NamespaceConfig ns, LogPosition from, LogPosition? to, IReadOnlySet<string> exclude, ReplayTarget? target, bool dryRun, Progress? progress, CancellationToken cancellationToken)
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
        long read = 0, written = 0, excluded = 0, unreadable = 0, otherKind = 0;
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

            var retargeted = target is null ? entry : target.Apply(entry);
            if (exclude.Contains(entry.Id))
            {
                excluded++;
            }
            else if (retargeted is null)
            {
                otherKind++;
            }
            else if (producer is not null)
            {
                await producer.ProduceAsync(ns.Topic, retargeted, cancellationToken);
                written++;
            }

            progress?.Report(read, written);
        }

        progress?.Report(read, written, final: true);
        return new ReplayResult(read, written, excluded, unreadable, otherKind, partitions.ToDictionary(p => p.Partition.Value, p => (starts[p], ends[p])));
    }
}
