using System.Text;
using Google.Protobuf;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.EndToEnd.Tests;

/// <summary>
/// A multi-table mutation through the whole stack: the C# client sends chunks out of order (one
/// twice) and then the marker to the ingress, the records go through Kafka, and the topology
/// applies them in sequence order to the real memcached.
/// </summary>
public sealed class MultiTableMutationTests(LocalStackFixture wal) : IClassFixture<LocalStackFixture>
{
    private const string Namespace = "kv-mutations";
    private static readonly TimeSpan DeliveryDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task CompleteMutation_ChunksOutOfOrder_AreAppliedInSequenceOrderToMemcached()
    {
        var requestId = $"mutation-{Guid.NewGuid():N}";
        var keys = Enumerable.Range(0, 6).Select(i => $"{requestId}-item-{i}").ToArray();
        // Chunk 4 deletes the item chunk 1 put; chunk 5 is last. Once it is visible the puts before
        // it are in; the delete may still be landing (order holds per key, see WaitForAbsenceAsync).
        var chunks = Enumerable.Range(0, 6).Select(i => i == 4
            ? Chunk(requestId, (uint)i, new MutationChunk { Delete = new Delete { Key = ByteString.CopyFromUtf8(keys[1]) } })
            : Chunk(requestId, (uint)i, new MutationChunk { Put = new Put { Key = ByteString.CopyFromUtf8(keys[i]), Value = ByteString.CopyFromUtf8($"value-{i}") } }))
            .ToArray();
        using var client = new WalClient(new WalClientOptions { Address = wal.IngressAddress });

        foreach (var sequence in new[] { 3, 0, 5, 1, 0, 4 })
        {
            Assert.Equal(Trilean.True, (await client.WriteMutationChunkAsync(chunks[sequence])).Durable);
        }

        Assert.Null(await wal.ReadDeliveredAsync(keys[0]));
        Assert.Equal(Trilean.True, (await client.WriteMutationChunkAsync(chunks[2])).Durable);
        var marker = await client.CompleteMutationAsync(new MutationCompletion { Namespace = Namespace, RequestId = requestId, ChunkCount = 6 });
        Assert.Equal(Trilean.True, marker.Durable);

        var (last, _) = await wal.WaitForDeliveryAsync(keys[5], DeliveryDeadline);
        Assert.Equal("value-5", Encoding.UTF8.GetString(last));
        foreach (var i in new[] { 0, 2, 3 })
        {
            Assert.Equal($"value-{i}", Encoding.UTF8.GetString(await wal.ReadDeliveredAsync(keys[i]) ?? []));
        }

        await wal.WaitForAbsenceAsync(keys[1], DeliveryDeadline);
        Assert.Null(await wal.ReadDeliveredAsync(keys[4]));
    }

    private static MutationChunk Chunk(string requestId, uint sequence, MutationChunk operation)
    {
        // kv-mutations' default target is memcached, so the table names the cluster: "local" is the
        // only one `wal up` configures.
        operation.Namespace = Namespace;
        operation.RequestId = requestId;
        operation.Sequence = sequence;
        operation.Table = "local";
        operation.Version = 1_000_000 + sequence;
        return operation;
    }
}
