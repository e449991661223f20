using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Types;
using static Wal.Sinks.Cassandra.Tests.Protocol.Hand;

namespace Wal.Sinks.Cassandra.Tests.Protocol;

/// <summary>
/// Request frames compared byte for byte with frames written by hand from the layout of
/// native_protocol_v4.spec. Each group is commented with the section it follows.
/// </summary>
public sealed class CqlRequestFrameTests
{
    [Fact]
    public void EncodeRequest_Startup_MatchesSpecLayout()
    {
        var expected = Frame(
            "x:04", // 2.1 version: request, v4
            "x:00", // 2.2 flags: none
            "x:00 01", // 2.3 stream id 1
            "x:01", // 2.4 opcode STARTUP
            "x:00 00 00 16", // 2.5 body length 22
            "x:00 01", // 4.1.1 [string map] with 1 entry
            "x:00 0B", "CQL_VERSION", // 3 [string]: [short] 11, UTF-8
            "x:00 05", "3.0.0"); // 3 [string]: [short] 5, UTF-8

        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(StartupRequest.Default, stream: 1));
    }

    [Fact]
    public void EncodeRequest_Options_IsHeaderOnly()
    {
        var expected = Frame("x:04 00 00 07 05", "x:00 00 00 00"); // 2: v4 request, stream 7, OPTIONS, empty body (4.1.3)

        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(OptionsRequest.Instance, stream: 7));
    }

    [Fact]
    public void EncodeRequest_AuthResponsePlain_CarriesSaslPlainToken()
    {
        var expected = Frame(
            "x:04 00 00 02 0F", // 2: v4 request, stream 2, AUTH_RESPONSE
            "x:00 00 00 0E", // 2.5 body length 14
            "x:00 00 00 0A", // 4.1.2 token as [bytes]: [int] 10
            "x:00", "cass", "x:00", "word"); // SASL PLAIN: authzid (empty) NUL authcid NUL password

        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(AuthResponseRequest.Plain("cass", "word"), stream: 2));
    }

    [Fact]
    public void EncodeRequest_QueryWithoutValues_WritesConsistencyAndZeroFlags()
    {
        var expected = Frame(
            "x:04 00 00 03 07", // 2: v4 request, stream 3, QUERY
            "x:00 00 00 0D", // 2.5 body length 13
            "x:00 00 00 06", "USE ks", // 4.1.4 <query> [long string]
            "x:00 01", // <consistency> ONE
            "x:00"); // <flags>: none

        var request = new QueryRequest("USE ks", new CqlQueryParameters(CqlConsistency.One));
        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(request, stream: 3));
    }

    [Fact]
    public void EncodeRequest_QueryWithEveryOption_WritesPartsInFlagOrder()
    {
        var expected = Frame(
            "x:04 00 00 04 07", // 2: v4 request, stream 4, QUERY
            "x:00 00 00 3B", // 2.5 body length 59
            "x:00 00 00 19", "SELECT v FROM t WHERE k=?", // 4.1.4 <query> [long string] of 25 bytes
            "x:00 06", // <consistency> LOCAL_QUORUM
            "x:3F", // <flags>: values 01 | skip_metadata 02 | page_size 04 | paging_state 08 | serial 10 | timestamp 20
            "x:00 01", // <n> 1 value
            "x:00 00 00 01", "a", // [value] 1 byte
            "x:00 00 13 88", // <result_page_size> [int] 5000
            "x:00 00 00 02 AB CD", // <paging_state> [bytes]
            "x:00 09", // <serial_consistency> LOCAL_SERIAL
            "x:00 05 E5 4C 3D 5E 1A 00"); // <timestamp> [long] microseconds

        var request = new QueryRequest(
            "SELECT v FROM t WHERE k=?",
            new CqlQueryParameters(CqlConsistency.LocalQuorum)
            {
                Values = [CqlTypeCodec.Text("a")],
                SkipMetadata = true,
                PageSize = 5000,
                PagingState = new byte[] { 0xAB, 0xCD },
                SerialConsistency = CqlConsistency.LocalSerial,
                DefaultTimestamp = 0x0005_E54C_3D5E_1A00,
            });
        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(request, stream: 4));
    }

    [Fact]
    public void EncodeRequest_Prepare_WritesQueryAsLongString()
    {
        var expected = Frame(
            "x:04 00 00 05 09", // 2: v4 request, stream 5, PREPARE
            "x:00 00 00 22", // 2.5 body length 34
            "x:00 00 00 1E", "INSERT INTO t (k) VALUES (?) ;"); // 4.1.5 [long string] of 30 bytes

        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(new PrepareRequest("INSERT INTO t (k) VALUES (?) ;"), stream: 5));
    }

    [Fact]
    public void EncodeRequest_ExecuteWithNullUnsetAndTimestamp_MatchesSpecLayout()
    {
        var expected = Frame(
            "x:04 00 01 00 0A", // 2: v4 request, stream 256, EXECUTE
            "x:00 00 00 21", // 2.5 body length 33
            "x:00 02 CA FE", // 4.1.6 <id> [short bytes]
            "x:00 06", // 4.1.4 <consistency> LOCAL_QUORUM
            "x:21", // <flags>: values 01 | default timestamp 20
            "x:00 03", // <n> 3 values
            "x:00 00 00 04 00 00 00 2A", // [value] int 42
            "x:FF FF FF FF", // [value] null (n = -1)
            "x:FF FF FF FE", // [value] not set (n = -2)
            "x:00 00 00 00 00 00 30 39"); // <timestamp> [long] 12345

        var request = new ExecuteRequest(
            new byte[] { 0xCA, 0xFE },
            new CqlQueryParameters(CqlConsistency.LocalQuorum)
            {
                Values = [CqlTypeCodec.Int(42), CqlValue.Null, CqlValue.Unset],
                DefaultTimestamp = 12345,
            });
        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(request, stream: 256));
    }

    [Fact]
    public void EncodeRequest_UnloggedBatchWithDefaultTimestamp_MatchesSpecLayout()
    {
        var expected = Frame(
            "x:04 00 00 06 0D", // 2: v4 request, stream 6, BATCH
            "x:00 00 00 38", // 2.5 body length 56
            "x:01", // 4.1.7 <type> unlogged
            "x:00 02", // <n> 2 queries
            "x:00", "x:00 00 00 0B", "UPDATE t ?;", "x:00 01", "x:00 00 00 01", "x", // <kind> 0, [long string], <n> 1, [value]
            "x:01", "x:00 02 CA FE", "x:00 01", "x:00 00 00 08 00 00 00 00 00 00 00 07", // <kind> 1, [short bytes] id, <n> 1, [value] bigint 7
            "x:00 04", // <consistency> QUORUM
            "x:20", // <flags>: default timestamp
            "x:00 00 00 00 00 00 00 63"); // <timestamp> [long] 99

        var request = new BatchRequest(
            CqlBatchType.Unlogged,
            [
                CqlBatchStatement.Simple("UPDATE t ?;", [CqlTypeCodec.Text("x")]),
                CqlBatchStatement.Prepared(new byte[] { 0xCA, 0xFE }, [CqlTypeCodec.Bigint(7)]),
            ],
            CqlConsistency.Quorum)
        {
            DefaultTimestamp = 99,
        };
        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(request, stream: 6));
    }

    [Fact]
    public void EncodeRequest_LoggedBatchWithSerialConsistency_WritesSerialBeforeTimestamp()
    {
        var expected = Frame(
            "x:04 00 00 08 0D", // 2: v4 request, stream 8, BATCH
            "x:00 00 00 16", // 2.5 body length 22
            "x:00", // 4.1.7 <type> logged
            "x:00 01", // <n> 1 query
            "x:01", "x:00 01 07", "x:00 00", // <kind> 1, [short bytes] id 07, <n> 0 values
            "x:00 05", // <consistency> ALL
            "x:30", // <flags>: serial consistency 10 | default timestamp 20
            "x:00 08", // <serial_consistency> SERIAL
            "x:00 00 00 00 00 00 00 01"); // <timestamp> [long] 1

        var request = new BatchRequest(CqlBatchType.Logged, [CqlBatchStatement.Prepared(new byte[] { 0x07 }, [])], CqlConsistency.All)
        {
            SerialConsistency = CqlConsistency.Serial,
            DefaultTimestamp = 1,
        };
        Assert.Equal(expected, CqlFrameCodec.EncodeRequest(request, stream: 8));
    }
}
