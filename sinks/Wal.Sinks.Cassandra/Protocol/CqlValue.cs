namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>
/// The [value] notation: serialized bytes, <c>null</c> (length -1) or <c>not set</c> (length -2,
/// leaves the column unchanged). Build it from typed data with <see cref="Types.CqlTypeCodec"/>.
/// </summary>
public readonly record struct CqlValue
{
    private CqlValue(ReadOnlyMemory<byte> bytes, int kind)
    {
        Bytes = bytes;
        Kind = kind;
    }

    /// <summary>A null value; in an INSERT it deletes the cell.</summary>
    public static CqlValue Null { get; } = new(default, -1);

    /// <summary>A value that leaves the column as it is.</summary>
    public static CqlValue Unset { get; } = new(default, -2);

    /// <summary>The serialized bytes; empty for null and unset.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>0 for bytes, -1 for null, -2 for not set: the length the wire carries instead of a size.</summary>
    private int Kind { get; }

    public bool IsNull => Kind == -1;

    public bool IsUnset => Kind == -2;

    /// <summary>The length prefix written on the wire.</summary>
    public int WireLength => Kind == 0 ? Bytes.Length : Kind;

    public static CqlValue FromBytes(ReadOnlyMemory<byte> bytes) => new(bytes, 0);
}
