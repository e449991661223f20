using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Types;
using static Wal.Sinks.Cassandra.Tests.Protocol.Hand;

namespace Wal.Sinks.Cassandra.Tests.Protocol;

/// <summary>Response frames written by hand from native_protocol_v4.spec, decoded by the client.</summary>
public sealed class CqlResponseDecoderTests
{
    [Fact]
    public void Decode_Ready_IsReadyOnItsStream()
    {
        var frame = Frame("x:84 00 00 01 02", "x:00 00 00 00"); // 2: v4 response, stream 1, READY, empty body (4.2.2)

        var (header, response) = Decode(frame);

        Assert.True(header.IsResponse);
        Assert.Equal(4, header.ProtocolVersion);
        Assert.Equal(1, header.Stream);
        Assert.IsType<ReadyResponse>(response);
    }

    [Fact]
    public void Decode_Authenticate_NamesAuthenticator()
    {
        var frame = ResponseFixtures.Authenticate;

        var response = Assert.IsType<AuthenticateResponse>(Decode(frame).Response);

        Assert.Equal("org.apache.cassandra.auth.PasswordAuthenticator", response.Authenticator);
    }

    [Fact]
    public void Decode_AuthSuccessWithNullToken_HasNoToken()
    {
        var frame = Frame("x:84 00 00 00 10", "x:00 00 00 04", "x:FF FF FF FF"); // 4.2.8 [bytes] null

        Assert.Null(Assert.IsType<AuthSuccessResponse>(Decode(frame).Response).Token);
    }

    [Fact]
    public void Decode_Supported_ReadsStringMultimap()
    {
        var frame = Frame(
            "x:84 00 00 00 06", "x:00 00 00 18", // SUPPORTED, length 24
            "x:00 01", // 4.2.4 [string multimap]: 1 key
            "x:00 0B", "CQL_VERSION", "x:00 01", "x:00 05", "3.0.0"); // [string] key, [string list] of 1

        var response = Assert.IsType<SupportedResponse>(Decode(frame).Response);

        Assert.Equal(["3.0.0"], response.Options["CQL_VERSION"]);
    }

    [Fact]
    public void Decode_ResultVoid_IsVoid()
    {
        var frame = Frame("x:84 00 00 05 08", "x:00 00 00 04", "x:00 00 00 01"); // RESULT, 4.2.5 kind 0x0001

        Assert.IsType<VoidResult>(Decode(frame).Response);
    }

    [Fact]
    public void Decode_ResultWithTracingAndWarnings_SkipsThemBeforeTheBody()
    {
        var frame = Frame(
            "x:84 0A 00 05 08", "x:00 00 00 1C", // flags tracing 02 | warning 08, length 28
            "x:12 34 56 78 9A BC 4D EF 81 23 45 67 89 AB CD EF", // 2.2 tracing id [uuid]
            "x:00 01 00 04", "warn", // 2.2 warnings [string list]
            "x:00 00 00 01"); // 4.2.5 kind Void

        var response = Assert.IsType<VoidResult>(Decode(frame).Response);

        Assert.Equal(Guid.Parse("12345678-9abc-4def-8123-456789abcdef"), response.TracingId);
        Assert.Equal(["warn"], response.Warnings);
    }

    [Fact]
    public void Decode_ResultRows_DecodesCommonTypesAndNulls()
    {
        var frame = ResponseFixtures.Rows;

        var rows = Assert.IsType<RowsResult>(Decode(frame).Response);

        Assert.Equal(["ks"], rows.Metadata.Columns.Select(c => c.Keyspace).Distinct());
        Assert.Equal(2, rows.Rows.Count);
        var first = rows.Rows[0];
        Assert.Equal("k1", first.Get("k"));
        Assert.Equal(-2L, first.Get("n"));
        Assert.Equal(256, first.Get("i"));
        Assert.Equal(true, first.Get("b"));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(0x18BCFE56800), first.Get("s"));
        Assert.Equal(Guid.Parse("12345678-9abc-4def-8123-456789abcdef"), first.Get("u"));
        Assert.Equal(new byte[] { 1, 2, 3 }, first.Get("d"));
        Assert.Equal("k2", rows.Rows[1].Get("k"));
        Assert.All(Enumerable.Range(1, 6), c => Assert.Null(rows.Rows[1].Get(c)));
    }

    [Fact]
    public void Decode_ResultPrepared_ReadsIdVariablesAndKeyIndexes()
    {
        var frame = ResponseFixtures.Prepared;

        var prepared = Assert.IsType<PreparedResult>(Decode(frame).Response);

        Assert.Equal(new byte[] { 0xCA, 0xFE }, prepared.Id.ToArray());
        Assert.Equal([(ushort)0], prepared.Metadata.PartitionKeyIndexes);
        Assert.Equal(["k", "[timestamp]"], prepared.Metadata.Variables.Select(v => v.Name));
        Assert.Equal(CqlTypeCode.Bigint, prepared.Metadata.Variables[1].Type.Code);
        Assert.True(prepared.ResultMetadata.NoMetadata);
    }

    [Fact]
    public void Decode_ResultSchemaChangeTable_ReadsKeyspaceAndName()
    {
        var frame = ResponseFixtures.SchemaChangeTable;

        var change = Assert.IsType<SchemaChangeResult>(Decode(frame).Response);

        Assert.Equal(("CREATED", "TABLE", "ks", "t"), (change.ChangeType, change.Target, change.Keyspace, change.Name));
    }

    [Fact]
    public void Decode_ErrorUnavailable_ReadsDetailsAndIsRetriable()
    {
        var frame = ResponseFixtures.Unavailable;

        var error = Assert.IsType<ErrorResponse>(Decode(frame).Response).Error;

        Assert.Equal(CqlErrorCode.Unavailable, error.Code);
        Assert.Equal(new UnavailableDetails(CqlConsistency.LocalQuorum, 2, 1), error.Details);
        Assert.True(error.IsRetriable);
    }

    [Fact]
    public void Decode_ErrorWriteTimeoutOnCounter_IsNotRetriable()
    {
        var frame = ResponseFixtures.WriteTimeoutCounter;

        var error = Assert.IsType<ErrorResponse>(Decode(frame).Response).Error;

        Assert.Equal(new WriteTimeoutDetails(CqlConsistency.Quorum, 1, 2, "COUNTER"), error.Details);
        Assert.False(error.IsRetriable);
    }

    [Fact]
    public void Decode_ErrorUnprepared_CarriesTheUnknownId()
    {
        var frame = ResponseFixtures.Unprepared;

        var details = Assert.IsType<UnpreparedDetails>(Assert.IsType<ErrorResponse>(Decode(frame).Response).Error.Details);

        Assert.Equal(new byte[] { 0xCA, 0xFE }, details.PreparedId.ToArray());
    }

    [Fact]
    public void Decode_TruncatedBody_ThrowsProtocolException()
    {
        var frame = Frame("x:84 00 00 04 00", "x:00 00 00 06", "x:00 00 10 00 00 04"); // message length 4, no bytes

        Assert.Throws<CqlProtocolException>(() => Decode(frame));
    }

    [Theory]
    [InlineData("x:00 00 00 01", "x:7F FF FF FF")] // Rows: 1 column, 2^31-1 rows, no row data
    [InlineData("x:7F FF FF FF", "x:00 00 00 01")] // Rows: 2^31-1 columns, 1 row, no row data
    public void Decode_RowsCountsBeyondTheBody_ThrowProtocolExceptionWithoutAllocatingThem(string columns, string rows)
    {
        var frame = Frame(
            "x:84 00 00 03 08", "x:00 00 00 10", // RESULT, length 16
            "x:00 00 00 02", // 4.2.5 kind Rows
            "x:00 00 00 04", columns, // 4.2.5.2 <flags> No_metadata, <columns_count>
            rows); // <rows_count>, then nothing

        Assert.Throws<CqlProtocolException>(() => Decode(frame));
    }

    [Fact]
    public void Decode_PreparedCountsBeyondTheBody_ThrowProtocolException()
    {
        var frame = Frame(
            "x:84 00 00 03 08", "x:00 00 00 12", // RESULT, length 18
            "x:00 00 00 04", "x:00 00", // 4.2.5 kind Prepared, empty [short bytes] id
            "x:00 00 00 00", "x:7F FF FF FF", "x:7F FF FF FF"); // 4.2.5.4 <flags>, <columns_count>, <pk_count>, then nothing

        Assert.Throws<CqlProtocolException>(() => Decode(frame));
    }

    [Theory]
    [InlineData(CqlType.MaxNesting, true)]
    [InlineData(CqlType.MaxNesting + 1, false)]
    public void Decode_ColumnTypeNestedTooDeep_ThrowsProtocolExceptionInsteadOfRecursingOn(int lists, bool decodes)
    {
        var body = new CqlWriter();
        body.WriteInt(0x0002); // 4.2.5 kind Rows
        body.WriteInt(0x0001); // 4.2.5.2 <flags> Global_tables_spec
        body.WriteInt(1); // <columns_count>
        body.WriteString("ks");
        body.WriteString("t");
        body.WriteString("c");
        for (var i = 0; i < lists; i++)
        {
            body.WriteShort((ushort)CqlTypeCode.List); // [option] list, whose element type follows
        }

        body.WriteShort((ushort)CqlTypeCode.Int);
        body.WriteInt(0); // <rows_count>
        var frame = CqlFrameCodec.Encode(CqlFrameHeader.ResponseVersion, CqlFrameFlags.None, 0, CqlOpcode.Result, w => w.WriteRaw(body.WrittenSpan));

        if (decodes)
        {
            Assert.IsType<RowsResult>(Decode(frame).Response);
        }
        else
        {
            Assert.Throws<CqlProtocolException>(() => Decode(frame));
        }
    }

    [Fact]
    public void ReadHeader_LengthAbove256MB_ThrowsProtocolException()
    {
        var frame = Frame("x:84 00 00 01 08", "x:10 00 00 01"); // 2.5 length 256 MB + 1

        Assert.Throws<CqlProtocolException>(() => CqlFrameHeader.Read(frame));
    }

    private static (CqlFrameHeader Header, CqlResponse Response) Decode(byte[] frame)
    {
        var header = CqlFrameHeader.Read(frame);
        Assert.Equal(frame.Length - CqlFrameHeader.Size, header.Length);
        return (header, CqlResponseDecoder.Decode(header, frame.AsSpan(CqlFrameHeader.Size)));
    }
}
