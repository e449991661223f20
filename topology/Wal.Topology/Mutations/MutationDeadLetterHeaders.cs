using Wal.Topology.Dispatch;

namespace Wal.Topology.Mutations;

/// <summary>
/// Headers a mutation's dead-letter record carries besides the common ones of
/// <see cref="Dispatch.DeadLetterHeaders"/>. Its <see cref="Dispatch.DeadLetterHeaders.Reason"/> is
/// "permanent", "retriable" (attempts exhausted), "expired" (never complete within the
/// namespace's mutation_expiry), "late" (a chunk or marker that came after its mutation was
/// dead-lettered: one record per piece, after the mutation's own) or "beyond_count" (chunks whose
/// sequence is at or past their marker's chunk_count, a writer's error: left out of the mutation,
/// which applied without them).
/// </summary>
public static class MutationDeadLetterHeaders
{
    public const string RequestId = DeadLetterHeaders.MutationPrefix + "request-id";

    /// <summary>The marker's chunk count; 0 when the marker never arrived.</summary>
    public const string ChunkCount = DeadLetterHeaders.MutationPrefix + "chunk-count";

    /// <summary>How many chunks had arrived.</summary>
    public const string ChunksStored = DeadLetterHeaders.MutationPrefix + "chunks-stored";

    /// <summary>Chunks below this sequence were applied before the mutation was given up.</summary>
    public const string NextSequence = DeadLetterHeaders.MutationPrefix + "next-sequence";

    /// <summary>
    /// "i/n": this record is part i of the n that together carry the mutation's chunks (a mutation
    /// above <see cref="WalTopologyOptions.MaxDeadLetterBytes"/> is split); "1/1" for most.
    /// </summary>
    public const string Part = DeadLetterHeaders.MutationPrefix + "part";

    public const string Expired = "expired";

    public const string Late = "late";

    public const string BeyondCount = "beyond_count";
}
