using System.Buffers.Binary;
using System.Text;
using Wal.Schemas.V1;
using Wal.Sinks.Cassandra.Client;
using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Tests.Peer;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Tests.Sink;

/// <summary>The sink against the scripted peer: statements, idempotence by write timestamp, outcome classification.</summary>
public sealed class CassandraSinkTests
{
    private static readonly Dictionary<string, CqlTypeCode> Columns = new()
    {
        ["id"] = CqlTypeCode.Varchar,
        ["n"] = CqlTypeCode.Bigint,
        ["ok"] = CqlTypeCode.Boolean,
        ["at"] = CqlTypeCode.Timestamp,
        ["u"] = CqlTypeCode.Uuid,
        ["data"] = CqlTypeCode.Blob,
        ["i"] = CqlTypeCode.Int,
        ["x"] = CqlTypeCode.Double,
        ["f"] = CqlTypeCode.Float,
        ["code"] = CqlTypeCode.Ascii,
        ["tu"] = CqlTypeCode.Timeuuid,
    };

    [Fact]
    public async Task DeliverAsync_Row_PreparesInsertUsingTimestampAndBindsTheVersion()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);

        var result = await sink.DeliverAsync(Row("""{"n": 5, "id": "k1", "ok": true}""", version: 1_700_000_000_000_001));

        Assert.Equal(DeliveryResult.Delivered, result);
        Assert.Equal(
            "INSERT INTO \"ks\".\"t\" (\"id\", \"n\", \"ok\") VALUES (?, ?, ?) USING TIMESTAMP ?",
            Assert.Single(peer.ReceivedOf(CqlOpcode.Prepare)).Query);
        var (_, consistency, values) = Assert.Single(peer.ReceivedOf(CqlOpcode.Execute)).Execute;
        Assert.Equal(CqlConsistency.LocalQuorum, consistency);
        Assert.Equal("k1"u8.ToArray(), values[0]!);
        Assert.Equal(5L, BinaryPrimitives.ReadInt64BigEndian(values[1]));
        Assert.Equal([(byte)1], values[2]!);
        Assert.Equal(1_700_000_000_000_001, BinaryPrimitives.ReadInt64BigEndian(values[3]));
    }

    [Fact]
    public async Task DeliverAsync_OlderVersionAfterNewer_LeavesTheNewerRow()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);

        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row("""{"id": "k", "n": 2}""", version: 200)));
        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row("""{"id": "k", "n": 1}""", version: 100)));
        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row("""{"id": "k", "n": 2}""", version: 200)));

        Assert.Equal(2L, BinaryPrimitives.ReadInt64BigEndian(table.Cell("k", "n")));
        Assert.Equal([200L, 100L, 200L], peer.ReceivedOf(CqlOpcode.Execute).Select(f => BinaryPrimitives.ReadInt64BigEndian(f.Execute.Values[^1])));
    }

    [Fact]
    public async Task DeliverAsync_DeleteMarker_DeletesByKeyUsingTimestampAndOnlyNewerDeletesWin()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);

        await sink.DeliverAsync(Row("""{"id": "k", "n": 2}""", version: 200));
        var staleDelete = await sink.DeliverAsync(Row("""{"$delete": true, "id": "k"}""", version: 100));
        var survived = table.Cell("k", "n");
        var delete = await sink.DeliverAsync(Row("""{"id": "k", "$delete": true}""", version: 300));

        Assert.Equal([DeliveryResult.Delivered, DeliveryResult.Delivered], [staleDelete, delete]);
        Assert.Equal(2L, BinaryPrimitives.ReadInt64BigEndian(survived));
        Assert.Null(table.Cell("k", "n"));
        Assert.Equal("DELETE FROM \"ks\".\"t\" USING TIMESTAMP ? WHERE \"id\" = ?", peer.ReceivedOf(CqlOpcode.Prepare)[1].Query);
        var (_, _, values) = peer.ReceivedOf(CqlOpcode.Execute)[2].Execute;
        Assert.Equal(300L, BinaryPrimitives.ReadInt64BigEndian(values[0]));
        Assert.Equal("k"u8.ToArray(), values[1]!);
    }

    [Fact]
    public async Task DeliverAsync_SameColumnSetInAnyOrder_PreparesOnce()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);

        await sink.DeliverAsync(Row("""{"id": "a", "n": 1}""", 1));
        await sink.DeliverAsync(Row("""{"n": 2, "id": "b"}""", 2));
        await sink.DeliverAsync(Row("""{"id": "c", "ok": false}""", 3));

        Assert.Equal(2, peer.ReceivedOf(CqlOpcode.Prepare).Count);
        Assert.Equal(3, peer.ReceivedOf(CqlOpcode.Execute).Count);
    }

    [Fact]
    public async Task DeliverAsync_EveryCommonType_EncodesEachByItsColumnType()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);
        var payload = """{"id": "k", "at": "2026-11-22T01:00:00Z", "u": "12345678-9abc-4def-8123-456789abcdef", "data": "AQID", "i": -7, "n": null, "x": 1.5e300, "f": 3.4e38}""";

        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row(payload, 9)));

        Assert.Equal(DateTimeOffset.Parse("2026-11-22T01:00:00Z", System.Globalization.CultureInfo.InvariantCulture), CqlTypeCodec.Decode(new CqlType(CqlTypeCode.Timestamp), table.Cell("k", "at")));
        Assert.Equal(Guid.Parse("12345678-9abc-4def-8123-456789abcdef"), CqlTypeCodec.Decode(new CqlType(CqlTypeCode.Uuid), table.Cell("k", "u")));
        Assert.Equal(new byte[] { 1, 2, 3 }, table.Cell("k", "data")!);
        Assert.Equal(-7, CqlTypeCodec.Decode(new CqlType(CqlTypeCode.Int), table.Cell("k", "i")));
        Assert.Equal(1.5e300, CqlTypeCodec.Decode(new CqlType(CqlTypeCode.Double), table.Cell("k", "x")));
        Assert.Equal(3.4e38f, CqlTypeCodec.Decode(new CqlType(CqlTypeCode.Float), table.Cell("k", "f")));
        Assert.Null(peer.ReceivedOf(CqlOpcode.Execute).Single().Execute.Values[5]); // "n", by ordinal order: at, data, f, i, id, n
    }

    [Theory]
    [InlineData("2026-11-22T01:00:00Z")]
    [InlineData("2026-11-22T01:00:00")]
    [InlineData("2026-11-22T02:00:00.000+01:00")]
    [InlineData("2026-11-21T20:30:00.0000000-04:30")]
    [InlineData("2026-11-22T01:00Z")]
    [InlineData("2026-11-22T01:00:00.000000001Z")] // Java's Instant.toString(), Go's RFC3339Nano: nine digits
    [InlineData("2026-11-22T01:00:00.000000000+00:00")]
    [InlineData("2026-11-22T02:00:00+0100")]
    [InlineData("2026-11-22T01:00:00+00")]
    [InlineData("2026-11-22 01:00:00+00:00")] // RFC 3339's space, as Python's str(datetime) writes it
    [InlineData("2026-11-22t01:00:00z")]
    public async Task DeliverAsync_IsoTimestamp_WritesThatInstant(string timestamp)
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);

        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row($$"""{"id": "k", "at": "{{timestamp}}"}""", 1)));

        Assert.Equal(DateTimeOffset.Parse("2026-11-22T01:00:00Z", System.Globalization.CultureInfo.InvariantCulture), CqlTypeCodec.Decode(new CqlType(CqlTypeCode.Timestamp), table.Cell("k", "at")));
    }

    [Fact]
    public async Task DeliverAsync_ConsistencyFromOptions_IsSentWithTheExecute()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = new CassandraSink(Options(peer) with { Consistency = CqlConsistency.EachQuorum });

        await sink.DeliverAsync(Row("""{"id": "k"}""", 1));

        Assert.Equal(CqlConsistency.EachQuorum, peer.ReceivedOf(CqlOpcode.Execute).Single().Execute.Consistency);
    }

    [Theory]
    [InlineData(CqlErrorCode.Overloaded, DeliveryOutcome.RetriableFailure)]
    [InlineData(CqlErrorCode.Unavailable, DeliveryOutcome.RetriableFailure)]
    [InlineData(CqlErrorCode.WriteTimeout, DeliveryOutcome.RetriableFailure)]
    [InlineData(CqlErrorCode.IsBootstrapping, DeliveryOutcome.RetriableFailure)]
    [InlineData(CqlErrorCode.Invalid, DeliveryOutcome.PermanentFailure)]
    [InlineData(CqlErrorCode.Unauthorized, DeliveryOutcome.PermanentFailure)]
    [InlineData(CqlErrorCode.SyntaxError, DeliveryOutcome.PermanentFailure)]
    public async Task DeliverAsync_ServerError_MapsToItsOutcome(CqlErrorCode code, DeliveryOutcome outcome)
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Execute ? PeerReplies.ErrorWithDetails(code) : table.Answer(f));
        await using var sink = Sink(peer);

        var result = await sink.DeliverAsync(Row("""{"id": "k"}""", 1));

        Assert.Equal(outcome, result.Outcome);
        Assert.Contains(code.ToString(), result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_UnknownColumn_IsPermanent()
    {
        await using var peer = new ScriptedCqlPeer(new LastWriteWinsTable(Columns).Answer);
        await using var sink = Sink(peer);

        var result = await sink.DeliverAsync(Row("""{"id": "k", "nope": 1}""", 1));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("nope", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("{}")]
    [InlineData("""{"id": 5}""")]
    [InlineData("""{"id": "k", "n": "many"}""")]
    [InlineData("""{"id": "k", "i": 3000000000}""")]
    [InlineData("""{"id": "k", "$delete": false}""")]
    [InlineData("""{"$delete": true}""")]
    [InlineData("""{"id": "k", "x": 1e400}""")]
    [InlineData("""{"id": "k", "x": -1e400}""")]
    [InlineData("""{"id": "k", "f": 3.5e38}""")]
    [InlineData("""{"id": "k", "\ud800": 1}""")]
    [InlineData("""{"id": "k", "n\u0000i": 1}""")]
    [InlineData("""{"id": "k", "at": "13:00"}""")]
    [InlineData("""{"id": "k", "at": "06/12/2026"}""")]
    [InlineData("""{"id": "k", "at": "Sunday, 6 December 2026"}""")]
    [InlineData("""{"id": "k", "at": "2026-11-22T01:00:00.Z"}""")]
    [InlineData("""{"id": "k", "at": "2026-11-22T01:00.5Z"}""")]
    [InlineData("""{"id": "k", "at": "2026-11-22T25:00:00Z"}""")]
    [InlineData("""{"id": "k", "at": "2026-11-22T01:00:00+1"}""")]
    [InlineData("""{"$delete":true,"id": "k", "id": "j"}""")] // a mutation's delete chunk naming a key column twice
    [InlineData("""{"$delete":true,"$delete": false, "id": "k"}""")]
    public async Task DeliverAsync_PayloadThatIsNotARowOfTheTable_IsPermanentAndNothingIsExecuted(string payload)
    {
        await using var peer = new ScriptedCqlPeer(new LastWriteWinsTable(Columns).Answer);
        await using var sink = Sink(peer);

        var result = await sink.DeliverAsync(Row(payload, 1));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Empty(peer.ReceivedOf(CqlOpcode.Execute));
    }

    [Fact]
    public async Task DeliverAsync_AsciiColumnWithAllOfAscii_WritesItsBytes()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);

        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row("""{"id": "k", "code": "A-z\u0000\u007f"}""", 1)));

        Assert.Equal(new byte[] { 0x41, 0x2D, 0x7A, 0x00, 0x7F }, table.Cell("k", "code")!);
    }

    [Fact]
    public async Task DeliverAsync_TimeuuidColumnWithVersion1Uuid_WritesIt()
    {
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(table.Answer);
        await using var sink = Sink(peer);

        Assert.Equal(DeliveryResult.Delivered, await sink.DeliverAsync(Row("""{"id": "k", "tu": "5f0c5e80-d3a1-11f0-8de9-0242ac120002"}""", 1)));

        Assert.Equal(Guid.Parse("5f0c5e80-d3a1-11f0-8de9-0242ac120002"), CqlTypeCodec.Decode(new CqlType(CqlTypeCode.Timeuuid), table.Cell("k", "tu")));
    }

    [Theory]
    [InlineData("code", "café", "ascii")]
    [InlineData("code", "\u0080", "ascii")]
    [InlineData("code", "日本", "ascii")]
    [InlineData("tu", "12345678-9abc-4def-8123-456789abcdef", "timeuuid")] // version 4, random
    [InlineData("tu", "00000000-0000-0000-0000-000000000000", "timeuuid")] // nil
    [InlineData("tu", "01890a5d-ac96-774b-bcce-b302099a8057", "timeuuid")] // version 7, time-ordered but not a timeuuid
    public async Task DeliverAsync_ValueItsColumnTypeRefuses_IsPermanentNamingTheColumnAndNothingIsExecuted(string column, string value, string type)
    {
        await using var peer = new ScriptedCqlPeer(new LastWriteWinsTable(Columns).Answer);
        await using var sink = Sink(peer);

        var result = await sink.DeliverAsync(Row($$"""{"id": "k", "{{column}}": "{{value}}"}""", 1));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains($"'{column}' is {type}", result.Error, StringComparison.Ordinal);
        Assert.Empty(peer.ReceivedOf(CqlOpcode.Execute));
    }

    [Fact]
    public async Task DeliverAsync_NodeDropsTheConnection_IsRetriableAndTheNextDeliveryReconnects()
    {
        var drop = 1;
        var table = new LastWriteWinsTable(Columns);
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Execute && Interlocked.Exchange(ref drop, 0) == 1 ? PeerAction.Drop : table.Answer(f));
        await using var sink = Sink(peer);

        var first = await sink.DeliverAsync(Row("""{"id": "k", "n": 1}""", 1));
        var second = await sink.DeliverAsync(Row("""{"id": "k", "n": 1}""", 1));

        Assert.Equal(DeliveryOutcome.RetriableFailure, first.Outcome);
        Assert.Equal(DeliveryResult.Delivered, second);
        Assert.Equal(1L, BinaryPrimitives.ReadInt64BigEndian(table.Cell("k", "n")));
    }

    [Fact]
    public async Task DeliverAsync_NodeSpeaksOnlyV3_IsPermanentNamingTheVersion()
    {
        await using var peer = new ScriptedCqlPeer(f => f.Opcode == CqlOpcode.Startup ? PeerReplies.RefuseV4() : ScriptedCqlPeer.Default(f));
        await using var sink = Sink(peer);

        var result = await sink.DeliverAsync(Row("""{"id": "k"}""", 1));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("protocol v3", result.Error, StringComparison.Ordinal);
        Assert.Contains("Invalid or unsupported protocol version", result.Error, StringComparison.Ordinal);
        Assert.Empty(peer.ReceivedOf(CqlOpcode.Prepare));
    }

    [Fact]
    public async Task DeliverAsync_ClusterDown_IsRetriable()
    {
        int port;
        await using (var gone = new ScriptedCqlPeer(ScriptedCqlPeer.Default))
        {
            port = gone.Port;
        }

        await using var sink = new CassandraSink(new CassandraSinkOptions { Clusters = new Dictionary<string, CqlSessionOptions> { ["main"] = new() { ContactPoints = [$"127.0.0.1:{port}"] } } });

        Assert.Equal(DeliveryOutcome.RetriableFailure, (await sink.DeliverAsync(Row("""{"id": "k"}""", 1))).Outcome);
    }

    [Fact]
    public async Task DeliverAsync_UnknownClusterOrOtherTarget_IsPermanent()
    {
        await using var peer = new ScriptedCqlPeer(ScriptedCqlPeer.Default);
        await using var sink = Sink(peer);
        var unknown = Row("""{"id": "k"}""", 1) with { Target = new Target { Cassandra = new CassandraTarget { Cluster = "elsewhere", Keyspace = "ks", Table = "t" } } };
        var memcached = Row("""{"id": "k"}""", 1) with { Target = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "k" } } };

        Assert.Equal(DeliveryOutcome.PermanentFailure, (await sink.DeliverAsync(unknown)).Outcome);
        Assert.Equal(DeliveryOutcome.PermanentFailure, (await sink.DeliverAsync(memcached)).Outcome);
        Assert.Equal(0, peer.Connections);
    }

    [Fact]
    public void Constructor_BadClusterOptions_ThrowsNamingTheCluster()
    {
        var options = new CassandraSinkOptions { Clusters = new Dictionary<string, CqlSessionOptions> { ["main"] = new() { ContactPoints = ["host:notaport"] } } };

        var e = Assert.Throws<ArgumentException>(() => new CassandraSink(options));

        Assert.Contains("'main'", e.Message, StringComparison.Ordinal);
    }

    private static Delivery Row(string json, long version) => new(
        $"d-{version}",
        new Target { Cassandra = new CassandraTarget { Cluster = "main", Keyspace = "ks", Table = "t" } },
        Encoding.UTF8.GetBytes(json),
        version);

    private static CassandraSinkOptions Options(ScriptedCqlPeer peer) => new()
    {
        Clusters = new Dictionary<string, CqlSessionOptions> { ["main"] = new() { ContactPoints = [peer.ContactPoint] } },
    };

    private static CassandraSink Sink(ScriptedCqlPeer peer) => new(Options(peer));
}
