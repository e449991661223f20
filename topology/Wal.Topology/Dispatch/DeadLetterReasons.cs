using Wal.Topology.Mutations;

namespace Wal.Topology.Dispatch;

/// <summary>The values of a dead letter's <see cref="DeadLetterHeaders.Reason"/>, and of the reason tag that counts them.</summary>
public static class DeadLetterReasons
{
    /// <summary>Retrying could not help: a permanent failure, or a record no processor can read.</summary>
    public const string Permanent = "permanent";

    /// <summary>Every attempt failed, and the namespace's retry policy allows no more.</summary>
    public const string Retriable = "retriable";

    /// <summary>A mutation still incomplete at its namespace's mutation_expiry.</summary>
    public const string Expired = MutationDeadLetterHeaders.Expired;

    /// <summary>A mutation's chunk or marker that came after the mutation was dead-lettered.</summary>
    public const string Late = MutationDeadLetterHeaders.Late;

    /// <summary>A mutation's chunks past its marker's chunk_count, left out of the mutation, which applied without them.</summary>
    public const string BeyondCount = MutationDeadLetterHeaders.BeyondCount;

    /// <summary>Every reason the topology writes, in the order above.</summary>
    public static IReadOnlyList<string> All { get; } = [Permanent, Retriable, Expired, Late, BeyondCount];
}
