using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>
/// Ids sent as bytes that are not UTF-8. Protobuf decodes each such byte to U+FFFD, so "x\xFF" and "x\xFE" arrive as
/// one id: two writes, or two mutations' chunks, would be recorded as the same.
/// </summary>
public sealed class NonUtf8IdTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    // A character the tests put in an id and then swap, on the wire, for a byte that is not UTF-8.
    private const char Marker = '\u007F';

    private IngressTestHost Host => fixture.Host;

    public static TheoryData<string, string> Fields => new()
    {
        { WriteAheadLogService.WriteToLogPath, "id" },
        { WriteAheadLogService.WriteMutationChunkPath, "request_id" },
        { WriteAheadLogService.WriteMutationChunkPath, "idempotency_token" },
        { WriteAheadLogService.CompleteMutationPath, "request_id" },
    };

    [Theory]
    [MemberData(nameof(Fields))]
    public async Task IdNotUtf8_TwoDifferentIds_EachInvalidArgumentNamingTheFieldNothingWritten(string path, string field)
    {
        using var client = new GrpcTestClient(Host.Address);
        var topics = new[] { Host.TopicOf(TestNamespaces.Orders), Host.TopicOf(TestNamespaces.Mutations) };
        var id = $"not-utf8-{path.Length}-{field}-{Marker}";

        var first = await client.SendAsync(path, GrpcTestClient.Frame(NotUtf8(Request(path, field, id), 0xFF)));
        var second = await client.SendAsync(path, GrpcTestClient.Frame(NotUtf8(Request(path, field, id), 0xFE)));

        foreach (var response in new[] { first, second })
        {
            Assert.True(response.Status == StatusCode.InvalidArgument, $"{response.Status} {response.Message}");
            Assert.Contains($"{field}: is not UTF-8", response.Message, StringComparison.Ordinal);
        }

        Assert.All(topics, topic => Assert.DoesNotContain(Host.ReadAll(topic), r => r.Entry.Id.Contains('\uFFFD', StringComparison.Ordinal)
            || r.Entry.Chunk?.IdempotencyToken.Contains('\uFFFD', StringComparison.Ordinal) == true));
    }

    private static IMessage Request(string path, string field, string id) => path switch
    {
        WriteAheadLogService.WriteToLogPath => new WriteToLogRequest { Namespace = TestNamespaces.Orders, Id = id, Payload = ByteString.CopyFromUtf8("x") },
        WriteAheadLogService.CompleteMutationPath => new MutationCompletion { Namespace = TestNamespaces.Mutations, RequestId = id, ChunkCount = 1 },
        _ => new MutationChunk
        {
            Namespace = TestNamespaces.Mutations,
            RequestId = field == "request_id" ? id : "utf8-request",
            IdempotencyToken = field == "idempotency_token" ? id : string.Empty,
            Table = "t",
            Delete = new Delete { Key = ByteString.CopyFromUtf8("k") },
        },
    };

    // The message as serialized, with the marker's one byte swapped for one that is not UTF-8: lengths stay right.
    private static byte[] NotUtf8(IMessage message, byte replacement)
    {
        var bytes = message.ToByteArray();
        var at = Array.IndexOf(bytes, (byte)Marker);
        Assert.True(at >= 0);
        bytes[at] = replacement;
        return bytes;
    }
}
