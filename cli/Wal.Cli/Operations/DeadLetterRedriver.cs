using Confluent.Kafka;
using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>What a redrive did (or, dry, would do).</summary>
internal sealed record RedriveResult(
    string Group,
    long Read,
    long Redriven,
    IReadOnlyList<DeadLetter> Matched,
    IReadOnlyList<(DeadLetter Letter, string Why)> Skipped,
    IReadOnlyList<PositionPastEnd> PastEnd,
    IReadOnlyList<(DeadLetter Letter, string RedrivenAs)> Joined,
    IReadOnlyDictionary<DeadLetter, string> ReassembledAs,
    IReadOnlyList<DeletedByRetention> Deleted)
{
    /// <summary>Matching dead letters that could not be re-enqueued (unreadable, or a mutation that cannot complete).</summary>
    public long Unreadable => Skipped.Count;
}

/// <summary>Dead letters of a partition that retention deleted before a redrive read them: offsets From to To - 1.</summary>
internal sealed record DeletedByRetention(int Partition, long From, long To);

/// <summary>
/// Re-enqueues dead letters into their namespace's topic. The DLQ read position is a consumer
/// group per namespace and filter, committed one record at a time and only after the re-enqueued
/// record was acknowledged with acks=all: an interrupted redrive loses nothing, and the next run
/// resumes after the last committed record. A record re-enqueued but not yet committed when the
/// run stopped is re-enqueued again next time; sinks dedupe it by id and version. A mutation's dead letter is
/// re-enqueued as a new mutation (<see cref="MutationRedrive"/>); one that can never complete (chunks or marker
/// missing) is skipped and reported, like an unreadable record. A mutation that expired incomplete goes back whole
/// once its late pieces have filled it in: the first of its dead letters the run takes re-enqueues it, and the others
/// the run meets are joined to it.
/// </summary>
internal sealed class DeadLetterRedriver(string bootstrapServers)
{
    /// <summary>Each filter keeps its own position, so a narrow redrive does not skip records for a later, wider one.</summary>
    public static string GroupFor(string ns, DeadLetterFilter filter) =>
        filter.Field.Length == 0 ? $"wal-dlq-redrive-{ns}" : $"wal-dlq-redrive-{ns}.{filter.Text}";

    public async Task<RedriveResult> RedriveAsync(
        NamespaceConfig ns, DeadLetterFilter filter, bool dryRun, Progress? progress, Action<DeadLetter>? redriven, CancellationToken cancellationToken)
    {
        var group = GroupFor(ns.Name, filter);
        var partitions = KafkaTopics.Partitions(bootstrapServers, ns.DeadLetterTopic);
        using var consumer = KafkaTopics.Consumer(bootstrapServers, group);
        var committed = KafkaTopics.Committed(consumer, partitions);
        var deleted = new List<DeletedByRetention>();
        var starts = new Dictionary<TopicPartition, long>();
        foreach (var partition in partitions)
        {
            // Not below the start: retention may have deleted what the group would read next, and a scan from there
            // waited for records that no longer exist. They are gone without a redrive: said, not passed over in silence.
            var low = KafkaTopics.Watermarks(consumer, partition).Low.Value;
            var from = committed.GetValueOrDefault(partition, 0);
            starts[partition] = Math.Max(from, low);
            if (from < low)
            {
                deleted.Add(new DeletedByRetention(partition.Partition.Value, from, low));
            }
        }

        var ends = KafkaTopics.Ends(consumer, partitions);
        var pastEnd = RestartPastTheEnd(consumer, partitions, starts, ends);
        var total = partitions.Sum(p => Math.Max(0, ends[p] - starts[p]));
        if (progress is not null)
        {
            progress.Total = total;
        }

        using var producer = dryRun ? null : new LogEntryProducer(bootstrapServers);
        var matched = new List<DeadLetter>();
        var skipped = new List<(DeadLetter Letter, string Why)>();
        var expired = new ExpiredMutationRedrive(bootstrapServers, ns.DeadLetterTopic, cancellationToken);
        long read = 0, written = 0;
        try
        {
            foreach (var record in KafkaTopics.Scan(consumer, starts, ends, cancellationToken))
            {
                read++;
                var letter = DeadLetter.From(record);
                List<LogEntry>? entries = null;
                if (filter.Matches(letter))
                {
                    string? refusal = null;
                    var joinedBefore = expired.Joined.Count;
                    entries = letter.Part is null ? letter.Entry is { } entry ? [entry] : null
                        : DeadMutationPieces.Holds(letter) ? expired.Entries(ns.Name, letter, out refusal)
                        : MutationRedrive.Entries(ns.Name, letter, DateTimeOffset.UtcNow, out refusal);
                    if (entries is null)
                    {
                        skipped.Add((letter.WithoutContent(), refusal ?? "not a readable LogEntry"));
                    }
                    else if (expired.Joined.Count == joinedBefore)
                    {
                        matched.Add(Kept(letter, expired));
                        if (producer is not null)
                        {
                            foreach (var e in entries)
                            {
                                // A plain entry goes back with its record's headers; a mutation's pieces are new records.
                                await producer.ProduceAsync(ns.Topic, e, cancellationToken, letter.Part is null ? letter.Carried : null);
                            }

                            written++;
                        }
                    }
                }

                if (!dryRun)
                {
                    // Only now is everything up to this record durable elsewhere (or not wanted).
                    consumer.Commit([new TopicPartitionOffset(record.TopicPartition, record.Offset + 1)]);
                    if (entries is not null)
                    {
                        redriven?.Invoke(letter);
                    }
                }

                progress?.Report(read, written);
            }
        }
        catch (Exception e) when (!dryRun && skipped.Count > 0 && (e is OperationCanceledException ? cancellationToken.IsCancellationRequested : e is KafkaException or CliException or TimeoutException))
        {
            // The position is past every letter skipped so far: the next run starts after them and cannot name them.
            throw new CliException(
                ExitCodes.Failed,
                $"{(e is OperationCanceledException ? "interrupted" : $"stopped ({e.Message})")} after re-enqueueing {written} of {read} dead letter(s) read; "
                + $"{skipped.Count} skipped, which the next run will not name: "
                + string.Join("; ", skipped.Select(s => $"{s.Letter.Id} (dlq {s.Letter.Partition}@{s.Letter.Offset}): {s.Why}")),
                "Run the same command again; it resumes where it stopped. The skipped ones stay in the DLQ: inspect them with 'wal dlq show'.");
        }

        progress?.Report(read, written, final: true);
        return new RedriveResult(group, read, written, matched, skipped, pastEnd, expired.Joined, expired.ReassembledAs, deleted);
    }

    // What the report needs of a dead letter taken, not its content (a run over a DLQ that grew through an outage held
    // every payload until its end); a reassembled mutation's new request id goes with it.
    private static DeadLetter Kept(DeadLetter letter, ExpiredMutationRedrive expired)
    {
        var kept = letter.WithoutContent();
        if (expired.ReassembledAs.Remove(letter, out var redrivenAs))
        {
            expired.ReassembledAs[kept] = redrivenAs;
        }

        return kept;
    }

    /// <summary>
    /// A position past a partition's end means the dead-letter topic was deleted and created again (or truncated): every
    /// record in it is one this group never read, and from the position the run read nothing, reporting "0 of 0" while
    /// 'wal dlq list' listed them. Such a partition is read from its start; at worst a dead letter is re-enqueued twice.
    /// A recreated topic already longer than the position cannot be told apart here: Confluent.Kafka 1.9 reports no
    /// topic id and commits no offset metadata to keep one in, so the README asks the operator to reset the groups.
    /// </summary>
    private static List<PositionPastEnd> RestartPastTheEnd(
        IConsumer<byte[]?, byte[]?> consumer, IReadOnlyList<TopicPartition> partitions, Dictionary<TopicPartition, long> starts, Dictionary<TopicPartition, long> ends)
    {
        var pastEnd = new List<PositionPastEnd>();
        foreach (var partition in partitions.Where(p => starts[p] > ends[p]))
        {
            pastEnd.Add(new PositionPastEnd(partition.Partition.Value, starts[partition], ends[partition]));
            starts[partition] = KafkaTopics.Watermarks(consumer, partition).Low.Value;
        }

        return pastEnd;
    }
}
