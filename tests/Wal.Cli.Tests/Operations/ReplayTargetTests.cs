using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Operations;

public sealed class ReplayTargetTests
{
    [Theory]
    [InlineData("memcached:local", "memcached:local")]
    [InlineData("cassandra:c1", "cassandra:c1")]
    [InlineData("cassandra:c1/shop.orders", "cassandra:c1/shop.orders")]
    [InlineData("kafka:b/wal.copy", "kafka:b/wal.copy")]
    public void Parse_Valid_RoundTripsText(string text, string expected)
    {
        Assert.Equal(expected, ReplayTarget.Parse(text, out var error)?.Text);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("memcached")]
    [InlineData("memcached:")]
    [InlineData("memcached:local/x")]
    [InlineData("upstream:http://x")]
    [InlineData("cassandra:c1/orders")]
    public void Parse_Invalid_NamesTheForms(string text)
    {
        Assert.Null(ReplayTarget.Parse(text, out var error));
        Assert.Contains("memcached:CLUSTER", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_Cassandra_KeepsKeyspaceAndTableUnlessGiven()
    {
        var entry = new LogEntry { Id = "1", Target = new Target { Cassandra = new CassandraTarget { Cluster = "old", Keyspace = "ks", Table = "t" } } };

        var sameTable = ReplayTarget.Parse("cassandra:new", out _)!.Apply(entry)!;
        var otherTable = ReplayTarget.Parse("cassandra:new/ks2.t2", out _)!.Apply(entry)!;

        Assert.Equal(new CassandraTarget { Cluster = "new", Keyspace = "ks", Table = "t" }, sameTable.Target.Cassandra);
        Assert.Equal(new CassandraTarget { Cluster = "new", Keyspace = "ks2", Table = "t2" }, otherTable.Target.Cassandra);
        Assert.Equal("old", entry.Target.Cassandra.Cluster);
    }

    [Fact]
    public void Apply_MutationChunkOrOtherKind_IsNull()
    {
        var target = ReplayTarget.Parse("memcached:local", out _)!;
        var chunk = new LogEntry { Id = "c", Target = new Target { Memcached = new MemcachedTarget { Cluster = "x" } }, Chunk = new MutationChunk { RequestId = "r" } };
        var kafka = new LogEntry { Id = "k", Target = new Target { Kafka = new KafkaTarget { Topic = "t", Key = ByteString.CopyFromUtf8("k") } } };

        Assert.Null(target.Apply(chunk));
        Assert.Null(target.Apply(kafka));
    }
}
