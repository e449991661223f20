using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Wal.Sinks.Cassandra.Protocol;
using Wal.Sinks.Cassandra.Types;

namespace Wal.Sinks.Cassandra;

/// <summary>
/// Converts a JSON value to the CQL value its column's type wants (the type comes from the
/// prepared statement's bind markers). JSON null writes a null (a tombstone for that cell).
/// </summary>
public static class CassandraJsonValue
{
    public static CqlValue ToCql(string column, JsonElement value, CqlType type)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return CqlValue.Null;
        }

        try
        {
            return Convert(value, type) ?? throw Mismatch(column, value, type, null);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException)
        {
            throw Mismatch(column, value, type, e);
        }
    }

    private static CqlValue? Convert(JsonElement value, CqlType type) => (type.Code, value.ValueKind) switch
    {
        (CqlTypeCode.Varchar, JsonValueKind.String) => CqlTypeCodec.Text(value.GetString()!),
        (CqlTypeCode.Ascii, JsonValueKind.String) => CqlTypeCodec.Ascii(value.GetString()!),
        (CqlTypeCode.Blob, JsonValueKind.String) => CqlTypeCodec.Blob(value.GetBytesFromBase64()),
        (CqlTypeCode.Bigint, JsonValueKind.Number) => CqlTypeCodec.Bigint(value.GetInt64()),
        (CqlTypeCode.Bigint, JsonValueKind.String) => CqlTypeCodec.Bigint(long.Parse(value.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)),
        (CqlTypeCode.Int, JsonValueKind.Number) => CqlTypeCodec.Int(value.GetInt32()),
        (CqlTypeCode.Smallint, JsonValueKind.Number) => CqlTypeCodec.Smallint(value.GetInt16()),
        (CqlTypeCode.Tinyint, JsonValueKind.Number) => CqlTypeCodec.Tinyint(value.GetSByte()),
        (CqlTypeCode.Double, JsonValueKind.Number) => CqlTypeCodec.Double(Finite(value.GetDouble())),
        (CqlTypeCode.Float, JsonValueKind.Number) => CqlTypeCodec.Float(Finite(value.GetSingle())),
        (CqlTypeCode.Boolean, JsonValueKind.True or JsonValueKind.False) => CqlTypeCodec.Boolean(value.GetBoolean()),
        (CqlTypeCode.Timestamp, JsonValueKind.Number) => CqlTypeCodec.Bigint(value.GetInt64()),
        (CqlTypeCode.Timestamp, JsonValueKind.String) => CqlTypeCodec.Timestamp(IsoTimestamp.Parse(value.GetString()!)),
        (CqlTypeCode.Uuid, JsonValueKind.String) => CqlTypeCodec.Uuid(Guid.Parse(value.GetString()!)),
        (CqlTypeCode.Timeuuid, JsonValueKind.String) => CqlTypeCodec.Timeuuid(Guid.Parse(value.GetString()!)),
        _ => null,
    };

    // JSON has no infinities, so an infinite result is a number too large for the column, which
    // System.Text.Json rounds to infinity instead of failing; written, it would silently become
    // Infinity in Cassandra.
    private static T Finite<T>(T number)
        where T : IFloatingPointIeee754<T> =>
        T.IsFinite(number) ? number : throw new OverflowException("The number is beyond the column type's range.");

    private static CassandraPayloadException Mismatch(string column, JsonElement value, CqlType type, Exception? cause) =>
        new($"Column '{column}' is {type}; the JSON {value.ValueKind} {Shorten(value.GetRawText())} cannot be written to it.", cause);

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
