using System.Globalization;
using Confluent.Kafka;
using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>What a replay did (or, dry, would do).</summary>
internal sealed record ReplayResult(
    long Read,
    long Written,
    long Excluded,
    long Unreadable,
    long OtherKind,
    IReadOnlyDictionary<int, (long From, long To)> Ranges,
    IReadOnlyList<string> ExcludesNotFound,
    string? MutationSuffix,
    IReadOnlyDictionary<int, (long Asked, long Start)> Deleted)
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
/// <remarks>
/// Mutation chunks and markers go under a request id of this run (<c>REQUEST.replay-STAMP</c>): the topology keeps an
/// applied mutation's progress for one <c>mutation_expiry</c> and ignores anything more under its id, so a replay with
/// the same ids re-applied nothing of the newest mutations. A mutation cut by the range's edges cannot complete and is
/// dead-lettered at its expiry, and so would one cut by an interruption, were the run resumed under another stamp: the
/// resume hint names this run's. <c>--exclude</c> takes entry ids and mutation request ids; a mutation's request id also
/// excludes the copies earlier replays and redrives wrote of it (<see cref="MutationCopies"/>).
/// </remarks>
internal sealed class LogReplayer(string bootstrapServers)
{
    public async Task<ReplayResult> ReplayAsync(
        NamespaceConfig ns,
        LogPosition from,
        LogPosition? to,
        IReadOnlySet<string> exclude,
        ReplayTarget? target,
        bool dryRun,
        Progress? progress,
        CancellationToken cancellationToken,
        Action<LogEntry>? replayed = null,
        string? mutationSuffix = null)
    {
        CheckTimesInOrder(from, to);
        var partitions = KafkaTopics.Partitions(bootstrapServers, ns.Topic);
        CheckPartitions(ns, partitions, "--from", from);
        CheckPartitions(ns, partitions, "--to", to);
        // No commits: a replay is a one-off read and must not disturb any group.
        using var consumer = KafkaTopics.Consumer(bootstrapServers, $"wal-replay-{Guid.NewGuid():N}");
        var marks = partitions.ToDictionary(p => p, p => KafkaTopics.Watermarks(consumer, p));
        var asked = from.Resolve(consumer, partitions, marks, unnamedAtEnd: false, cancellationToken);
        CheckNotPastTheEnd(ns, from, asked, marks);
        var starts = Clamp(asked, marks);
        var ends = to is null ? partitions.ToDictionary(p => p, p => marks[p].High.Value) : Clamp(to.Resolve(consumer, partitions, marks, unnamedAtEnd: true, cancellationToken), marks);
        foreach (var partition in partitions.Where(p => from.Offsets.Count > 0 && !from.Offsets.ContainsKey(p.Partition.Value)))
        {
            // "--from 1:2" means partition 1: the partitions it does not name are not replayed.
            ends[partition] = starts[partition];
        }

        CheckToNotBeforeFrom(starts, ends);

        var total = partitions.Sum(p => Math.Max(0, ends[p] - starts[p]));
        if (progress is not null)
        {
            progress.Total = total;
        }

        // A resumed run keeps the interrupted run's suffix: a mutation cut by the interruption then
        // completes under one request id, instead of two halves that each expire.
        var suffix = mutationSuffix ?? $".replay-{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}";
        using var producer = dryRun ? null : new LogEntryProducer(bootstrapServers);
        var next = new Dictionary<TopicPartition, long>(starts);
        var excludesFound = new HashSet<string>(StringComparer.Ordinal);
        long read = 0, written = 0, excluded = 0, unreadable = 0, otherKind = 0, mutationEntries = 0;
        try
        {
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
                    next[record.TopicPartition] = record.Offset.Value + 1;
                    continue;
                }

                var retargeted = target is null ? ForReplay(entry, suffix) : target.Apply(entry);
                if (ExcludedBy(entry, exclude) is { } excludedBy)
                {
                    excluded++;
                    excludesFound.Add(excludedBy);
                }
                else if (retargeted is null)
                {
                    otherKind++;
                }
                else
                {
                    mutationEntries += retargeted.BodyCase is LogEntry.BodyOneofCase.Chunk or LogEntry.BodyOneofCase.Completion ? 1 : 0;
                    if (producer is not null)
                    {
                        await producer.ProduceAsync(ns.Topic, retargeted, cancellationToken, record.Message.Headers);
                        written++;
                    }
                }

                next[record.TopicPartition] = record.Offset.Value + 1;
                if (producer is not null && retargeted is not null)
                {
                    replayed?.Invoke(retargeted);
                }

                progress?.Report(read, written);
            }
        }
        catch (Exception e) when (!dryRun && (e is OperationCanceledException ? cancellationToken.IsCancellationRequested : e is KafkaException or CliException))
        {
            // A replay keeps no position of its own: say where it stopped, so the operator can go on from there, whether
            // Ctrl-C or Kafka stopped it (a produce refused or unacknowledged, a read that failed). Run again as it was,
            // it would re-apply the whole range, and a mutation the stop cut would go on under another suffix.
            var why = e switch
            {
                OperationCanceledException => "interrupted",
                KafkaException kafka => $"stopped by Kafka ({kafka.Error.Reason})",
                _ => $"stopped ({e.Message})",
            };
            throw new CliException(
                ExitCodes.Failed,
                $"{why} after re-applying {written} of {read} entries read",
                $"To go on where it stopped, run it again with --from {Positions(next)} --to {Positions(ends)}"
                + (target is null ? $" --mutation-suffix {suffix}" : string.Empty) + " (the same other options).");
        }

        progress?.Report(read, written, final: true);
        return new ReplayResult(
            read, written, excluded, unreadable, otherKind,
            partitions.ToDictionary(p => p.Partition.Value, p => (starts[p], ends[p])),
            [.. exclude.Where(id => !excludesFound.Contains(id)).Order(StringComparer.Ordinal)],
            mutationEntries > 0 && target is null ? suffix : null,
            partitions.Where(p => asked[p] < starts[p] && starts[p] < ends[p]).ToDictionary(p => p.Partition.Value, p => (asked[p], starts[p])));
    }

    private static Dictionary<TopicPartition, long> Clamp(Dictionary<TopicPartition, long> offsets, Dictionary<TopicPartition, WatermarkOffsets> marks) =>
        offsets.ToDictionary(o => o.Key, o => Math.Clamp(o.Value, marks[o.Key].Low.Value, marks[o.Key].High.Value));

    // An offset past the end selects nothing: an epoch time typed as a number, or a partition's offset mistyped, read as
    // "done, 0 entries", which an operator in an outage takes for "nothing to re-apply". A time past the end is the
    // answer to "since then" and stays allowed.
    private static void CheckNotPastTheEnd(NamespaceConfig ns, LogPosition from, Dictionary<TopicPartition, long> asked, Dictionary<TopicPartition, WatermarkOffsets> marks)
    {
        var named = from.Offsets.Count > 0
            ? asked.Where(a => from.Offsets.ContainsKey(a.Key.Partition.Value) && a.Value > marks[a.Key].High.Value).ToList()
            : from.AllOffset is not null && asked.All(a => a.Value > marks[a.Key].High.Value) ? [.. asked] : [];
        if (named.Count > 0)
        {
            throw new CliException(
                ExitCodes.Usage,
                $"--from is past the end of {ns.Topic}: " + string.Join(", ", named.OrderBy(n => n.Key.Partition.Value).Select(n =>
                    $"partition {n.Key.Partition.Value} asked from {n.Value}, its end is offset {marks[n.Key].High.Value}")),
                "Fix --from (a time is ISO-8601, e.g. 2026-11-22T02:00:00Z, not a number) and run the command again.");
        }
    }

    // Two times that resolve to the same offsets (both before the first record, or in one gap between records) pass the
    // offsets' check below as an empty range, so a --to typed before --from is refused as typed.
    private static void CheckTimesInOrder(LogPosition from, LogPosition? to)
    {
        if (from.Time is { } start && to?.Time is { } end && end < start)
        {
            throw new CliException(
                ExitCodes.Usage,
                string.Create(CultureInfo.InvariantCulture, $"--to is before --from ({end.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} before {start.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ})"),
                "Give a --to at or after --from and run the command again.");
        }
    }

    private static void CheckToNotBeforeFrom(Dictionary<TopicPartition, long> starts, Dictionary<TopicPartition, long> ends)
    {
        var backwards = starts.Where(s => ends[s.Key] < s.Value).OrderBy(s => s.Key.Partition.Value).ToList();
        if (backwards.Count > 0)
        {
            throw new CliException(
                ExitCodes.Usage,
                "--to is before --from in " + string.Join(", ", backwards.Select(b => $"partition {b.Key.Partition.Value} (from {b.Value}, to {ends[b.Key]})")),
                "Give a --to at or after --from and run the command again.");
        }
    }

    /// <summary>The entry as this run produces it: a mutation's chunk or marker under this run's request id.</summary>
    internal static LogEntry ForReplay(LogEntry entry, string suffix)
    {
        switch (entry.BodyCase)
        {
            case LogEntry.BodyOneofCase.Chunk:
                var chunk = entry.Clone();
                chunk.Chunk.RequestId += suffix;
                chunk.Id = $"{chunk.Chunk.RequestId}/{chunk.Chunk.Sequence}";
                return chunk;
            case LogEntry.BodyOneofCase.Completion:
                var marker = entry.Clone();
                marker.Completion.RequestId += suffix;
                marker.Id = $"{marker.Completion.RequestId}/complete";
                return marker;
            default:
                return entry;
        }
    }

    // The --exclude value that names this entry: its id, or its mutation's request id or the id of the mutation it is a
    // replayed or redriven copy of (the same chunks: excluding the bad mutation must not let its copies through).
    private static string? ExcludedBy(LogEntry entry, IReadOnlySet<string> exclude)
    {
        var requestId = entry.BodyCase switch
        {
            LogEntry.BodyOneofCase.Chunk => entry.Chunk.RequestId,
            LogEntry.BodyOneofCase.Completion => entry.Completion.RequestId,
            _ => null,
        };
        return exclude.Contains(entry.Id)
            ? entry.Id
            : requestId is null ? null : MutationCopies.SelfAndOriginals(requestId).FirstOrDefault(exclude.Contains);
    }

    private static void CheckPartitions(NamespaceConfig ns, IReadOnlyList<TopicPartition> partitions, string option, LogPosition? position)
    {
        var missing = position?.Offsets.Keys.Where(k => !partitions.Any(p => p.Partition.Value == k)).Order().ToList() ?? [];
        if (missing.Count > 0)
        {
            throw new CliException(
                ExitCodes.Usage,
                $"{option} names partition(s) {string.Join(", ", missing)}, which {ns.Topic} does not have (it has {partitions.Count}: 0 to {partitions.Count - 1})",
                $"Fix {option} and run the command again.");
        }
    }

    private static string Positions(IReadOnlyDictionary<TopicPartition, long> offsets) =>
        string.Join(',', offsets.OrderBy(o => o.Key.Partition.Value).Select(o => $"{o.Key.Partition.Value}:{o.Value}"));
}
