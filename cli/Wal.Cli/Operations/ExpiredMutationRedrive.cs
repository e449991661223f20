using Wal.Schemas.V1;

namespace Wal.Cli.Operations;

/// <summary>
/// One redrive run's handling of the dead letters of mutations that never completed (<see cref="DeadMutationPieces"/>):
/// the first of a request id's dead letters the run takes re-enqueues the mutation put together from all of them, and
/// the others the run meets are joined to it rather than sent again.
/// </summary>
internal sealed class ExpiredMutationRedrive(string bootstrapServers, string deadLetterTopic, CancellationToken cancellationToken)
{
    private readonly Dictionary<string, string> _redrivenAs = new(StringComparer.Ordinal);
    private DeadMutationPieces? _pieces;

    /// <summary>The dead letters that re-enqueued a mutation, with the request id it went under.</summary>
    public Dictionary<DeadLetter, string> ReassembledAs { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>The dead letters whose mutation an earlier dead letter of this run re-enqueued.</summary>
    public List<(DeadLetter Letter, string RedrivenAs)> Joined { get; } = [];

    /// <summary>The entries to write: none for a piece already re-enqueued, null with the reason when the mutation is not whole.</summary>
    public List<LogEntry>? Entries(string ns, DeadLetter letter, out string? refusal)
    {
        refusal = null;
        var requestId = letter.Mutation!.RequestId;
        if (_redrivenAs.TryGetValue(requestId, out var redrivenAs))
        {
            Joined.Add((letter, redrivenAs));
            return [];
        }

        // Read on the first need only: a DLQ without such dead letters costs no second scan.
        _pieces ??= DeadMutationPieces.Read(bootstrapServers, deadLetterTopic, cancellationToken);
        var all = _pieces.Of(requestId) is { Count: > 0 } found ? found : [letter];
        var entries = MutationRedrive.Reassembled(ns, all, DateTimeOffset.UtcNow, out refusal);
        if (entries is not null)
        {
            _redrivenAs[requestId] = ReassembledAs[letter] = MutationRedrive.RequestIdFor(all[0]);
        }

        return entries;
    }
}
