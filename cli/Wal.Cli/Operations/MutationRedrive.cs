using Wal.Schemas.V1;
using Wal.Topology.Mutations;

namespace Wal.Cli.Operations;

/// <summary>
/// Turns a mutation's dead letter back into log entries: its chunks, and with the last part its completion marker, as
/// the ingress writes them. They go under a new request id (the old one with <c>.redrive-PARTITION-OFFSET</c> of the
/// mutation's source record): the topology keeps a dead-lettered mutation's progress for one <c>mutation_expiry</c> and
/// applies nothing more under its id. The new id is the same on every run, so a dead letter re-enqueued twice (a run
/// interrupted before its commit) is one mutation, whose repeated chunks the topology ignores while it collects or has
/// applied them. A mutation that expired incomplete is put together with the late pieces that came after it
/// (<see cref="Reassembled"/>).
/// </summary>
internal static class MutationRedrive
{
    /// <summary>The entries to re-enqueue; null with the reason when the mutation cannot be applied.</summary>
    public static List<LogEntry>? Entries(string ns, DeadLetter letter, DateTimeOffset now, out string? refusal)
    {
        refusal = null;
        if (letter.Mutation is not { } dead)
        {
            refusal = "not a readable mutation dead letter";
            return null;
        }

        if (letter.Reason == MutationDeadLetterHeaders.BeyondCount)
        {
            refusal = $"chunks past their mutation's count of {dead.ChunkCount} (a writer's error), which applied without them: there is no "
                + "mutation to put them back into; 'wal dlq show' prints them, and the writer can send them again as a mutation of their own";
            return null;
        }

        if (dead.ChunkCount == 0 || letter.ChunksStored < dead.ChunkCount)
        {
            refusal = dead.ChunkCount == 0
                ? "incomplete: its completion marker never arrived"
                : $"incomplete: {letter.ChunksStored} of {dead.ChunkCount} chunks arrived";
            return null;
        }

        return Entries(ns, RequestIdFor(letter), Unapplied(dead.Chunks, dead.NextSequence, dead.ChunkCount), IsLastPart(letter.Part) ? dead.ChunkCount - dead.NextSequence : 0, now);
    }

    /// <summary>
    /// The chunks from <paramref name="applied"/> up to <paramref name="count"/>, numbered from 0. Those below were
    /// confirmed by the sink before the mutation was given up (sent again, each was applied twice on a Kafka target, which
    /// has no version to guard it); those past the count, in a dead letter written before they went apart (reason
    /// beyond_count), are no part of the mutation.
    /// </summary>
    private static IEnumerable<MutationChunk> Unapplied(IEnumerable<MutationChunk> chunks, uint applied, uint count) =>
        chunks.Where(c => c.Sequence >= applied && c.Sequence < count).Select(c =>
        {
            var copy = c.Clone();
            copy.Sequence -= applied;
            return copy;
        });

    // markerCount: 0 for a part that the marker does not follow.
    private static List<LogEntry> Entries(string ns, string requestId, IEnumerable<MutationChunk> chunks, uint markerCount, DateTimeOffset now)
    {
        var entries = chunks.Select(chunk =>
        {
            var copy = chunk.Clone();
            copy.RequestId = requestId;
            return NewEntry(ns, $"{requestId}/{copy.Sequence}", now, e => e.Chunk = copy);
        }).ToList();
        if (markerCount > 0)
        {
            entries.Add(NewEntry(ns, $"{requestId}/complete", now, e => e.Completion = new MutationCompletion
            {
                Namespace = ns,
                RequestId = requestId,
                ChunkCount = markerCount,
            }));
        }

        return entries;
    }

    /// <summary>
    /// The entries of a mutation that never completed, put together from every dead letter of its request id: the one
    /// it expired with and the late pieces after it (<see cref="DeadMutationPieces"/>), under the request id the first of
    /// them gives, so every run and every piece that triggers it gives the same one. Null with the reason when the pieces
    /// do not make the whole mutation, or disagree.
    /// </summary>
    /// <remarks>
    /// Such a mutation may have been applied in part: a retry that found a chunk lost in a restore collects again, and can
    /// expire. The chunks below the highest next sequence its dead letters name were confirmed, and are left out, the rest
    /// numbered from 0, as for a mutation given up (<see cref="Entries(string, DeadLetter, DateTimeOffset, out string?)"/>).
    /// </remarks>
    public static List<LogEntry>? Reassembled(string ns, IReadOnlyList<DeadLetter> pieces, DateTimeOffset now, out string? refusal)
    {
        refusal = null;
        var requestId = pieces[0].Mutation!.RequestId;
        var chunks = new SortedDictionary<uint, MutationChunk>();
        uint count = 0;
        uint applied = 0;
        foreach (var piece in pieces)
        {
            var dead = piece.Mutation!;
            applied = Math.Max(applied, dead.NextSequence);
            if (dead.ChunkCount != 0 && count != 0 && dead.ChunkCount != count)
            {
                refusal = $"its dead letters disagree on the chunk count ({count} and {dead.ChunkCount}, dlq {piece.Partition}@{piece.Offset})";
                return null;
            }

            count = Math.Max(count, dead.ChunkCount);
            foreach (var chunk in dead.Chunks)
            {
                if (chunks.TryGetValue(chunk.Sequence, out var seen) && !seen.Equals(chunk))
                {
                    refusal = $"its dead letters hold two different chunks {chunk.Sequence} (dlq {piece.Partition}@{piece.Offset})";
                    return null;
                }

                chunks[chunk.Sequence] = chunk;
            }
        }

        var missing = count == 0 ? [] : Enumerable.Range((int)applied, (int)count - (int)Math.Min(applied, count)).Where(s => !chunks.ContainsKey((uint)s)).ToList();
        if (count == 0 || missing.Count > 0)
        {
            var what = count == 0 ? "its completion marker" : $"chunk(s) {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", …" : "")} of {count}";
            refusal = $"incomplete: {what} in none of the {pieces.Count} dead letter(s) of request id {requestId} "
                + $"({string.Join(", ", pieces.Select(p => $"{p.Reason} at dlq {p.Partition}@{p.Offset}"))}). "
                + $"Once they are in the DLQ, run 'wal dlq redrive --namespace {ns} --filter id={requestId}'; or resubmit the mutation whole under a new request id";
            return null;
        }

        var newId = RequestIdFor(pieces[0]);
        return Entries(ns, newId, Unapplied(chunks.Values, applied, count), count - Math.Min(applied, count), now);
    }

    public static string RequestIdFor(DeadLetter letter)
    {
        var at = letter.Source.LastIndexOf('/');
        var position = at < 0 ? letter.Source : letter.Source[(at + 1)..].Replace('@', '-');
        return $"{letter.Mutation!.RequestId}.redrive-{position}";
    }

    // "i/n": the marker goes with the last part, after every chunk (the parts of one mutation share its key, so they
    // are in order in one partition of the dead-letter topic).
    private static bool IsLastPart(string? part) =>
        part?.Split('/') is [var i, var n] && i == n;

    private static LogEntry NewEntry(string ns, string id, DateTimeOffset now, Action<LogEntry> setBody)
    {
        var entry = new LogEntry
        {
            Id = id,
            Namespace = ns,
            Lifecycle = new Lifecycle { OriginalWriteTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now) },
            AcceptedAtMs = now.ToUnixTimeMilliseconds(),
        };
        setBody(entry);
        return entry;
    }
}
