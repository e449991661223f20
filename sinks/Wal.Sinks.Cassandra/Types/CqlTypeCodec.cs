using System.Buffers.Binary;
using System.Text;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Types;

/// <summary>
/// Serializes the common scalar types of spec section 6 to and from CLR values: text/varchar/ascii
/// ⇄ string (ascii only of characters 0 to 127), blob ⇄ byte[], bigint/counter ⇄ long, int ⇄ int, smallint ⇄ short, tinyint ⇄ sbyte,
/// boolean ⇄ bool, double ⇄ double, float ⇄ float, timestamp ⇄ DateTimeOffset (milliseconds),
/// uuid/timeuuid ⇄ Guid (RFC 4122 byte order; timeuuid only of version 1). Other types come back as raw bytes.
/// </summary>
// CA1720: the factory methods are named after the CQL types they encode (int, double, float).
#pragma warning disable CA1720
public static class CqlTypeCodec
{
    public static CqlValue Text(string value) => CqlValue.FromBytes(Encoding.UTF8.GetBytes(value));

    /// <summary>
    /// An ascii value (spec 6.1): bytes 0 to 127 only. The server refuses any other byte, so text
    /// beyond ASCII fails here, before sending, as the same value would fail on every retry.
    /// </summary>
    public static CqlValue Ascii(string value) =>
        System.Text.Ascii.IsValid(value)
            ? CqlValue.FromBytes(Encoding.ASCII.GetBytes(value))
            : throw new FormatException("An ascii value may hold only characters 0 to 127.");

    public static CqlValue Blob(ReadOnlyMemory<byte> value) => CqlValue.FromBytes(value);

    public static CqlValue Bigint(long value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return CqlValue.FromBytes(bytes);
    }

    public static CqlValue Int(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return CqlValue.FromBytes(bytes);
    }

    public static CqlValue Smallint(short value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, value);
        return CqlValue.FromBytes(bytes);
    }

    public static CqlValue Tinyint(sbyte value) => CqlValue.FromBytes(new[] { unchecked((byte)value) });

    public static CqlValue Boolean(bool value) => CqlValue.FromBytes(new[] { value ? (byte)1 : (byte)0 });

    public static CqlValue Double(double value) => Bigint(BitConverter.DoubleToInt64Bits(value));

    public static CqlValue Float(float value) => Int(BitConverter.SingleToInt32Bits(value));

    public static CqlValue Timestamp(DateTimeOffset value) => Bigint(value.ToUnixTimeMilliseconds());

    public static CqlValue Uuid(Guid value) => CqlValue.FromBytes(value.ToByteArray(bigEndian: true));

    /// <summary>
    /// A timeuuid value (spec 6.18): a version 1 UUID only. The server refuses any other version
    /// (it orders timeuuids by the time inside them), so one fails here, before sending.
    /// </summary>
    public static CqlValue Timeuuid(Guid value) =>
        value.Version == 1
            ? Uuid(value)
            : throw new FormatException($"A timeuuid must be a version 1 UUID; {value} is version {value.Version}.");

    /// <summary>Encodes a CLR value for a column of <paramref name="type"/>; null encodes as the null value.</summary>
    public static CqlValue Encode(CqlType type, object? value) => (type.Code, value) switch
    {
        (_, null) => CqlValue.Null,
        (CqlTypeCode.Varchar, string s) => Text(s),
        (CqlTypeCode.Ascii, string s) => Ascii(s),
        (CqlTypeCode.Blob, byte[] b) => Blob(b),
        (CqlTypeCode.Blob, ReadOnlyMemory<byte> m) => Blob(m),
        (CqlTypeCode.Bigint or CqlTypeCode.Counter, long l) => Bigint(l),
        (CqlTypeCode.Bigint or CqlTypeCode.Counter, int i) => Bigint(i),
        (CqlTypeCode.Int, int i) => Int(i),
        (CqlTypeCode.Smallint, short s) => Smallint(s),
        (CqlTypeCode.Tinyint, sbyte s) => Tinyint(s),
        (CqlTypeCode.Boolean, bool b) => Boolean(b),
        (CqlTypeCode.Double, double d) => Double(d),
        (CqlTypeCode.Float, float f) => Float(f),
        (CqlTypeCode.Timestamp, DateTimeOffset t) => Timestamp(t),
        (CqlTypeCode.Timestamp, long ms) => Bigint(ms),
        (CqlTypeCode.Uuid, Guid g) => Uuid(g),
        (CqlTypeCode.Timeuuid, Guid g) => Timeuuid(g),
        _ => throw new ArgumentException($"A {value.GetType().Name} cannot be written to a column of type {type}.", nameof(value)),
    };

    /// <summary>Decodes a cell; null stays null, and types without a CLR mapping come back as bytes.</summary>
    public static object? Decode(CqlType type, byte[]? bytes)
    {
        if (bytes is null)
        {
            return null;
        }

        return type.Code switch
        {
            CqlTypeCode.Varchar or CqlTypeCode.Ascii => Encoding.UTF8.GetString(bytes),
            CqlTypeCode.Bigint or CqlTypeCode.Counter => BinaryPrimitives.ReadInt64BigEndian(Exactly(bytes, 8, type)),
            CqlTypeCode.Int => BinaryPrimitives.ReadInt32BigEndian(Exactly(bytes, 4, type)),
            CqlTypeCode.Smallint => BinaryPrimitives.ReadInt16BigEndian(Exactly(bytes, 2, type)),
            CqlTypeCode.Tinyint => unchecked((sbyte)Exactly(bytes, 1, type)[0]),
            CqlTypeCode.Boolean => Exactly(bytes, 1, type)[0] != 0,
            CqlTypeCode.Double => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64BigEndian(Exactly(bytes, 8, type))),
            CqlTypeCode.Float => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32BigEndian(Exactly(bytes, 4, type))),
            CqlTypeCode.Timestamp => DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(Exactly(bytes, 8, type))),
            CqlTypeCode.Uuid or CqlTypeCode.Timeuuid => new Guid(Exactly(bytes, 16, type), bigEndian: true),
            _ => bytes,
        };
    }

    private static ReadOnlySpan<byte> Exactly(byte[] bytes, int size, CqlType type) =>
        bytes.Length == size
            ? bytes
            : throw new CqlProtocolException($"A {type} value must be {size} bytes; got {bytes.Length}.");
}
#pragma warning restore CA1720
