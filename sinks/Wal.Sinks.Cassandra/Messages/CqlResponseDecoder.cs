using Wal.Sinks.Cassandra.Errors;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>Decodes a response frame body into its message (spec section 4.2).</summary>
public static class CqlResponseDecoder
{
    private const int VoidKind = 0x0001;
    private const int RowsKind = 0x0002;
    private const int SetKeyspaceKind = 0x0003;
    private const int PreparedKind = 0x0004;
    private const int SchemaChangeKind = 0x0005;

    public static CqlResponse Decode(CqlFrameHeader header, ReadOnlySpan<byte> body)
    {
        if ((header.Flags & CqlFrameFlags.Compression) != 0)
        {
            throw new CqlProtocolException("The server compressed a frame although no compression was negotiated.");
        }

        var reader = new CqlReader(body);

        // Spec 2.2: a tracing id comes first, then warnings, then a custom payload, each only if flagged.
        Guid? tracingId = (header.Flags & CqlFrameFlags.Tracing) != 0 ? reader.ReadUuid() : null;
        var warnings = (header.Flags & CqlFrameFlags.Warning) != 0 ? reader.ReadStringList() : [];
        if ((header.Flags & CqlFrameFlags.CustomPayload) != 0)
        {
            reader.ReadBytesMap();
        }

        var message = DecodeMessage(header.Opcode, ref reader);
        return message with { TracingId = tracingId, Warnings = warnings };
    }

    private static CqlResponse DecodeMessage(CqlOpcode opcode, ref CqlReader reader) => opcode switch
    {
        CqlOpcode.Error => new ErrorResponse(CqlError.Read(ref reader)),
        CqlOpcode.Ready => new ReadyResponse(),
        CqlOpcode.Authenticate => new AuthenticateResponse(reader.ReadString()),
        CqlOpcode.AuthChallenge => new AuthChallengeResponse(reader.ReadBytes()),
        CqlOpcode.AuthSuccess => new AuthSuccessResponse(reader.ReadBytes()),
        CqlOpcode.Supported => new SupportedResponse(reader.ReadStringMultimap()),
        CqlOpcode.Result => DecodeResult(ref reader),
        CqlOpcode.Event => new EventResponse(reader.ReadString()),
        _ => throw new CqlProtocolException($"Opcode 0x{(byte)opcode:X2} is not a response."),
    };

    private static CqlResponse DecodeResult(ref CqlReader reader)
    {
        var kind = reader.ReadInt();
        switch (kind)
        {
            case VoidKind:
                return new VoidResult();
            case RowsKind:
                return DecodeRows(ref reader);
            case SetKeyspaceKind:
                return new SetKeyspaceResult(reader.ReadString());
            case PreparedKind:
                var id = reader.ReadShortBytes();
                var metadata = CqlPreparedMetadata.Read(ref reader);
                return new PreparedResult(id, metadata, CqlRowsMetadata.Read(ref reader));
            case SchemaChangeKind:
                return DecodeSchemaChange(ref reader);
            default:
                throw new CqlProtocolException($"Unknown RESULT kind 0x{kind:X4}.");
        }
    }

    private static RowsResult DecodeRows(ref CqlReader reader)
    {
        var metadata = CqlRowsMetadata.Read(ref reader);
        var count = reader.ReadInt();

        // Every cell is a [bytes] of at least its 4-byte length. A row of no columns takes no
        // bytes and so cannot be bounded by the body, but no CQL result has zero columns.
        reader.EnsureRoomFor(count, Math.Max(1L, metadata.ColumnCount) * 4, "rows");
        var rows = new CqlRow[count];
        for (var r = 0; r < count; r++)
        {
            var values = new byte[]?[metadata.ColumnCount];
            for (var c = 0; c < values.Length; c++)
            {
                values[c] = reader.ReadBytes();
            }

            rows[r] = new CqlRow(metadata.Columns, values);
        }

        return new RowsResult(metadata, rows);
    }

    private static SchemaChangeResult DecodeSchemaChange(ref CqlReader reader)
    {
        var change = reader.ReadString();
        var target = reader.ReadString();
        var keyspace = reader.ReadString();
        if (target == "KEYSPACE")
        {
            return new SchemaChangeResult(change, target, keyspace, null);
        }

        var name = reader.ReadString();
        if (target is "FUNCTION" or "AGGREGATE")
        {
            reader.ReadStringList();
        }

        return new SchemaChangeResult(change, target, keyspace, name);
    }
}
