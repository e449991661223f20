using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Topology.Mutations;

namespace Wal.Topology.Tests;

public sealed class EntryRouterTests
{
    public static TheoryData<string, byte[], bool> Entries => new()
    {
        { "chunk", Entry(e => e.Chunk = new MutationChunk { RequestId = "r", Sequence = 3, Table = "t" }), true },
        { "completion", Entry(e => e.Completion = new MutationCompletion { RequestId = "r", ChunkCount = 2 }), true },
        { "plain write with payload and lifecycle", Entry(e => e.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromHours(1)) }), false },
        { "large payload (two-byte length)", Entry(e => e.Payload = ByteString.CopyFrom(new byte[70_000])), false },
        { "chunk after an unknown fixed64 and fixed32 field", [0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5D, 1, 2, 3, 4, .. Entry(e => e.Chunk = new MutationChunk { RequestId = "r" })], true },
        { "chunk after an unknown group (the strict walk decides)", [0x53, 0x08, 0x01, 0x54, .. Entry(e => e.Chunk = new MutationChunk { RequestId = "r" })], true },
        { "truncated length", [0x22, 0x10, 1, 2], false },
        { "field number 0", [0x00, 0x01], false },
        { "over-long varint", [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], false },
        { "empty", [], false },
    };

    [Theory]
    [MemberData(nameof(Entries))]
    public void IsMutation_Entry_MatchesAFullParse(string name, byte[] value, bool expected)
    {
        Assert.Equal(expected, EntryRouter.IsMutation(value));
        Assert.Equal(expected, FullParseSaysMutation(value));
        Assert.NotNull(name);
    }

    [Fact]
    public void IsMutation_Null_IsFalse() => Assert.False(EntryRouter.IsMutation(null));

    private static bool FullParseSaysMutation(byte[] value)
    {
        try
        {
            return LogEntry.Parser.ParseFrom(value).BodyCase is LogEntry.BodyOneofCase.Chunk or LogEntry.BodyOneofCase.Completion;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private static byte[] Entry(Action<LogEntry> set)
    {
        var entry = new LogEntry { Id = "e-1", Namespace = "ns", AcceptedAtMs = 1_700_000_000_000, Payload = ByteString.CopyFromUtf8("payload") };
        set(entry);
        return entry.ToByteArray();
    }
}
