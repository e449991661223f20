using Wal.Schemas.V1;
using Wal.Topology.Mutations;

namespace Wal.Cli.Operations;

/// <summary>
/// Turns a mutation's dead letter back into log entries: its chunks, and with the last part its completion marker, as
/// the ingress writes them. They go under a new request id (the old one with <c>.redrive-PARTITION-OFFSET</c> of the
/// mutation's source record): the topology keeps a dead-lettered mutation's progress for one <c>mutation_expiry</c> and
/// applies nothing more under its id. The new id is the same on every run, so a dead letter re-enqueued twice (a run
/// interrupted before its commit) is one mutation, whose repeated chunks the topology ignores while it collects or has
/// applied them.
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

        if (letter.Reason == MutationDeadLetterHeaders.Late)
        {
            refusal = "a piece that arrived after its mutation was dead-lettered: it cannot be joined to that record; resubmit the mutation whole under a new request id";
            return null;
        }

        if (dead.ChunkCount == 0 || letter.ChunksStored < dead.ChunkCount)
        {
            refusal = dead.ChunkCount == 0
                ? "incomplete: its completion marker never arrived"
                : $"incomplete: {letter.ChunksStored} of {dead.ChunkCount} chunks arrived";
            return null;
        }

        var requestId = RequestIdFor(letter);
        var entries = dead.Chunks.Select(chunk =>
        {
            var copy = chunk.Clone();
            copy.RequestId = requestId;
            return NewEntry(ns, $"{requestId}/{copy.Sequence}", now, e => e.Chunk = copy);
        }).ToList();
        if (IsLastPart(letter.Part))
        {
            entries.Add(NewEntry(ns, $"{requestId}/complete", now, e => e.Completion = new MutationCompletion
            {
                Namespace = ns,
                RequestId = requestId,
                ChunkCount = dead.ChunkCount,
            }));
        }

        return entries;
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
