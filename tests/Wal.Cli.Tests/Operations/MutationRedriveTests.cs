using Wal.Cli.Operations;
using Wal.Schemas.V1;
using Wal.Topology.Mutations;
using Wal.Topology.State;

namespace Wal.Cli.Tests.Operations;

public sealed class MutationRedriveTests
{
    [Fact]
    public void Entries_ChunksPastTheirMutationsCount_RefusedSayingWhy()
    {
        var refused = MutationRedrive.Entries("demo", Letter(MutationDeadLetterHeaders.BeyondCount, chunkCount: 1, nextSequence: 1, 3, 5), DateTimeOffset.UtcNow, out var refusal);

        Assert.Null(refused);
        Assert.StartsWith("chunks past their mutation's count of 1 (a writer's error)", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Entries_GivenUpHoldingAChunkPastTheCount_GoesBackWithoutIt()
    {
        // A dead letter written before such chunks went apart carries them with the mutation's own.
        var entries = MutationRedrive.Entries("demo", Letter("permanent", chunkCount: 2, nextSequence: 0, 0, 1, 5), DateTimeOffset.UtcNow, out var refusal);

        Assert.Null(refusal);
        Assert.Equal(["m.redrive-0-7/0", "m.redrive-0-7/1", "m.redrive-0-7/complete"], entries!.Select(e => e.Id));
    }

    [Fact]
    public void Reassembled_ExpiredAfterPartOfItWasApplied_LeavesTheAppliedChunksOut()
    {
        // A retry applied chunk 0, found chunk 2 lost in a restore, collected again and expired; chunk 2 came late.
        var expired = Letter(MutationDeadLetterHeaders.Expired, chunkCount: 3, nextSequence: 1, 0, 1);
        var late = Letter(MutationDeadLetterHeaders.Late, chunkCount: 3, nextSequence: 1, 2) with { Offset = 13 };

        var entries = MutationRedrive.Reassembled("demo", [expired, late], DateTimeOffset.UtcNow, out var refusal);

        Assert.Null(refusal);
        Assert.NotNull(entries);
        Assert.Equal(["m.redrive-0-7/0", "m.redrive-0-7/1", "m.redrive-0-7/complete"], entries.Select(e => e.Id));
        Assert.Equal(["key-1", "key-2"], entries.Where(e => e.Chunk is not null).Select(e => e.Chunk.Put.Key.ToStringUtf8()));
        Assert.Equal(2u, entries[^1].Completion.ChunkCount);
    }

    private static DeadLetter Letter(string reason, uint chunkCount, uint nextSequence, params uint[] sequences)
    {
        var dead = new DeadMutation { RequestId = "m", ChunkCount = chunkCount, NextSequence = nextSequence };
        dead.Chunks.AddRange(sequences.Select(s => new MutationChunk
        {
            Namespace = "demo",
            RequestId = "m",
            Sequence = s,
            Table = "t",
            Put = new Put { Key = Google.Protobuf.ByteString.CopyFromUtf8($"key-{s}") },
        }));
        return new DeadLetter(0, 12, "m", reason, 1, "error", null, "wal.demo/0@7", null, dead, "1/1", sequences.Length);
    }
}
