using Wal.Topology.Mutations;

namespace Wal.Cli.Operations;

/// <summary>
/// The dead letters of mutations that never completed (<c>expired</c>, and the <c>late</c> pieces that came after them),
/// by request id, from the whole dead-letter topic: a late piece's mutation was dead-lettered before it, and a redrive's
/// position is usually past that record.
/// </summary>
internal sealed class DeadMutationPieces
{
    private readonly Dictionary<string, List<DeadLetter>> _byRequestId;

    private DeadMutationPieces(Dictionary<string, List<DeadLetter>> byRequestId) => _byRequestId = byRequestId;

    /// <summary>Whether the letter is one of these: a piece of a mutation that never completed.</summary>
    public static bool Holds(DeadLetter letter) =>
        letter.Mutation is not null && letter.Reason is MutationDeadLetterHeaders.Expired or MutationDeadLetterHeaders.Late;

    /// <summary>Reads every partition of <paramref name="topic"/> from its start to its end now.</summary>
    public static DeadMutationPieces Read(string bootstrapServers, string topic, CancellationToken cancellationToken)
    {
        var partitions = KafkaTopics.Partitions(bootstrapServers, topic);
        using var consumer = KafkaTopics.Consumer(bootstrapServers, $"wal-dlq-inspect-{Guid.NewGuid():N}");
        var starts = partitions.ToDictionary(p => p, p => KafkaTopics.Watermarks(consumer, p).Low.Value);
        var byRequestId = new Dictionary<string, List<DeadLetter>>(StringComparer.Ordinal);
        foreach (var record in KafkaTopics.Scan(consumer, starts, KafkaTopics.Ends(consumer, partitions), cancellationToken))
        {
            var letter = DeadLetter.From(record);
            if (Holds(letter))
            {
                var requestId = letter.Mutation!.RequestId;
                if (!byRequestId.TryGetValue(requestId, out var pieces))
                {
                    byRequestId[requestId] = pieces = [];
                }

                pieces.Add(letter);
            }
        }

        return new DeadMutationPieces(byRequestId);
    }

    /// <summary>The dead letters of <paramref name="requestId"/>, in partition and offset order.</summary>
    public IReadOnlyList<DeadLetter> Of(string requestId) =>
        _byRequestId.TryGetValue(requestId, out var pieces) ? [.. pieces.OrderBy(p => p.Partition).ThenBy(p => p.Offset)] : [];
}
