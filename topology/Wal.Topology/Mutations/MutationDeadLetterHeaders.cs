namespace Wal.Topology.Mutations;

/// <summary>
/// Headers a mutation's dead-letter record carries besides the common ones of
/// <see cref="Dispatch.DeadLetterHeaders"/>. Its <see cref="Dispatch.DeadLetterHeaders.Reason"/> is
/// "permanent", "retriable" (attempts exhausted) or "expired" (never complete within the
/// namespace's mutation_expiry).
/// </summary>
public static class MutationDeadLetterHeaders
{
    public const string RequestId = "wal.mutation.request-id";

    /// <summary>The marker's chunk count; 0 when the marker never arrived.</summary>
    public const string ChunkCount = "wal.mutation.chunk-count";

    /// <summary>How many chunks had arrived.</summary>
    public const string ChunksStored = "wal.mutation.chunks-stored";

    /// <summary>Chunks below this sequence were applied before the mutation was given up.</summary>
    public const string NextSequence = "wal.mutation.next-sequence";

    public const string Expired = "expired";
}
