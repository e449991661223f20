using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Wal.Schemas.V1;
using Wal.Topology.Mutations;

namespace Wal.Topology.Tests;

public sealed class ChunkDeliveryTests
{
    [Fact]
    public void From_MemcachedDefault_TableIsTheClusterAndDeleteIsATombstone()
    {
        var chunk = new MutationChunk { RequestId = "r", Sequence = 4, Table = "users", Delete = new Delete { Key = ByteString.CopyFromUtf8("u:1") }, Version = 77 };

        var delivery = ChunkDelivery.From(chunk, new Target { Memcached = new MemcachedTarget { Cluster = "ignored" } }, out var error);

        Assert.Null(error);
        Assert.Equal("r/4", delivery!.Id);
        Assert.Equal("users", delivery.Target.Memcached.Cluster);
        Assert.Equal("u:1", delivery.Target.Memcached.Key);
        Assert.True(delivery.Target.Memcached.Delete);
        Assert.Equal(77, delivery.Version);
    }

    [Fact]
    public void From_CassandraDefaultDelete_SendsTheKeyColumnsWithDeleteFlag()
    {
        var chunk = new MutationChunk { RequestId = "r", Table = "orders", Delete = new Delete { Key = ByteString.CopyFromUtf8("{\"id\": 5}") }, Version = 9 };

        var delivery = ChunkDelivery.From(chunk, new Target { Cassandra = new CassandraTarget { Cluster = "c", Keyspace = "shop", Table = "x" } }, out _);

        Assert.Equal("shop", delivery!.Target.Cassandra.Keyspace);
        Assert.Equal("orders", delivery.Target.Cassandra.Table);
        using var json = JsonDocument.Parse(Encoding.UTF8.GetString(delivery.Payload.Span));
        Assert.True(json.RootElement.GetProperty("$delete").GetBoolean());
        Assert.Equal(5, json.RootElement.GetProperty("id").GetInt32());
    }

    // The key's text goes to the sink as written, with the delete marker first: the sink judges the columns (one named
    // twice, an empty name) and refuses the chunk permanently. Rebuilding the object threw for a column named twice,
    // out of the mutation processor, which stopped the stream thread on every instance that took the partition.
    [Theory]
    [InlineData("{\"id\": 1, \"id\": 2}", "{\"$delete\":true,\"id\": 1, \"id\": 2}")]
    [InlineData(" {\"\\ud800\": 1}", " {\"$delete\":true,\"\\ud800\": 1}")]
    [InlineData("{\"region\":\"eu\",\"id\":{\"a\":[1]}}", "{\"$delete\":true,\"region\":\"eu\",\"id\":{\"a\":[1]}}")]
    public void From_CassandraDefaultDelete_KeyObjectAsWrittenWithTheMarkerFirst(string key, string payload)
    {
        var chunk = new MutationChunk { RequestId = "r", Table = "orders", Delete = new Delete { Key = ByteString.CopyFromUtf8(key) } };

        var delivery = ChunkDelivery.From(chunk, new Target { Cassandra = new CassandraTarget { Cluster = "c", Keyspace = "shop" } }, out var error);

        Assert.Null(error);
        Assert.Equal(payload, Encoding.UTF8.GetString(delivery!.Payload.Span));
    }

    [Theory]
    [InlineData("5")]
    [InlineData("[{\"id\": 1}]")]
    [InlineData("{}")]
    [InlineData("{\"id\": 1} {\"id\": 2}")]
    [InlineData("id=1")]
    public void From_CassandraDefaultDelete_KeyNotAJsonObjectOfColumns_HasNoDeliveryAndSaysWhy(string key)
    {
        var chunk = new MutationChunk { RequestId = "r", Table = "orders", Delete = new Delete { Key = ByteString.CopyFromUtf8(key) } };

        var delivery = ChunkDelivery.From(chunk, new Target { Cassandra = new CassandraTarget { Cluster = "c", Keyspace = "shop" } }, out var error);

        Assert.Null(delivery);
        Assert.Contains("JSON object of the row's key columns", error, StringComparison.Ordinal);
    }

    [Fact]
    public void From_MemcachedDefault_KeyNotUtf8_HasNoDeliveryAndSaysWhy()
    {
        // Decoding writes U+FFFD for every byte that is not UTF-8: "k\xFF" and "k\xFE" named one memcached item.
        var target = new Target { Memcached = new MemcachedTarget { Cluster = "ignored" } };
        foreach (var bad in new byte[] { 0xFF, 0xFE })
        {
            var chunk = new MutationChunk { RequestId = "r", Table = "users", Put = new Put { Key = ByteString.CopyFrom(0x6B, bad), Value = ByteString.CopyFromUtf8("a") } };

            var delivery = ChunkDelivery.From(chunk, target, out var error);

            Assert.Null(delivery);
            Assert.Contains("must be UTF-8", error, StringComparison.Ordinal);
        }

        var kafka = ChunkDelivery.From(
            new MutationChunk { RequestId = "r", Table = "t", Put = new Put { Key = ByteString.CopyFrom(0x6B, 0xFF) } },
            new Target { Kafka = new KafkaTarget { Topic = "ignored" } },
            out _);
        Assert.Equal(ByteString.CopyFrom(0x6B, 0xFF), kafka?.Target.Kafka.Key);
    }

    [Fact]
    public void From_KafkaDefault_DeleteChunk_IsTheKeysTombstone_APutIsNot()
    {
        var target = new Target { Kafka = new KafkaTarget { Cluster = "b", Topic = "ignored" } };

        var delete = ChunkDelivery.From(new MutationChunk { RequestId = "r", Table = "users", Delete = new Delete { Key = ByteString.CopyFromUtf8("k") } }, target, out _);
        var put = ChunkDelivery.From(new MutationChunk { RequestId = "r", Table = "users", Put = new Put { Key = ByteString.CopyFromUtf8("k") } }, target, out _);

        Assert.Equal(new KafkaTarget { Cluster = "b", Topic = "users", Key = ByteString.CopyFromUtf8("k"), Delete = true }, delete?.Target.Kafka);
        Assert.False(put?.Target.Kafka.Delete);
    }

    [Fact]
    public void From_UpstreamDefault_HasNoDeliveryAndSaysWhy()
    {
        var chunk = new MutationChunk { RequestId = "r", Table = "t", Put = new Put { Key = ByteString.CopyFromUtf8("k") } };

        var delivery = ChunkDelivery.From(chunk, new Target { Upstream = new UpstreamTarget { Url = "http://x" } }, out var error);

        Assert.Null(delivery);
        Assert.Contains("Upstream", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_Sequences_SortInSequenceOrderWithinTheirRequestId()
    {
        var keys = new[] { ChunkKey.Encode("a", 256), ChunkKey.Encode("a", 1), ChunkKey.Encode("ab", 0), ChunkKey.Encode("a", 2) };

        var sorted = keys.OrderBy(k => k, Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();

        Assert.Equal([1u, 2u, 256u], sorted.Where(k => ChunkKey.Belongs(k, "a") && k[1] == 0).Select(k => ChunkKey.Sequence(k)));
        Assert.True(sorted.Take(3).All(k => k.AsSpan().SequenceCompareTo(ChunkKey.End("a")) < 0));
        Assert.True(ChunkKey.Encode("ab", 0).AsSpan().SequenceCompareTo(ChunkKey.End("a")) >= 0);
    }
}
