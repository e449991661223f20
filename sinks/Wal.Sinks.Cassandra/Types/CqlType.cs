using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Types;

/// <summary>
/// A column type as the [option] of spec 4.2.5.2 describes it: a code, a class name for custom
/// types, element types for collections and tuples, and field names for UDTs.
/// </summary>
public sealed record CqlType(CqlTypeCode Code)
{
    public string? CustomClass { get; init; }

    /// <summary>Element types: one for list and set, key and value for map, one per component for tuple and UDT.</summary>
    public IReadOnlyList<CqlType> Parameters { get; init; } = [];

    /// <summary>For a UDT: its keyspace, name and field names (matching <see cref="Parameters"/>).</summary>
    public string? UdtKeyspace { get; init; }

    public string? UdtName { get; init; }

    public IReadOnlyList<string> FieldNames { get; init; } = [];

    /// <summary>
    /// How deeply collections, tuples and UDTs may nest in a type the server describes. Each level
    /// is only 2 bytes on the wire, so without a bound a corrupt frame far below the 256 MB limit
    /// (4 MB of nested lists did it) recursed until the stack overflowed, which kills the process
    /// instead of failing one request.
    /// Real schemas nest a handful of levels.
    /// </summary>
    public const int MaxNesting = 64;

    public static CqlType Read(ref CqlReader reader) => Read(ref reader, depth: 0);

    private static CqlType Read(ref CqlReader reader, int depth)
    {
        if (depth > MaxNesting)
        {
            throw new CqlProtocolException($"A column type nests more than {MaxNesting} levels deep.");
        }

        var code = (CqlTypeCode)reader.ReadShort();
        switch (code)
        {
            case CqlTypeCode.Custom:
                return new CqlType(code) { CustomClass = reader.ReadString() };
            case CqlTypeCode.List or CqlTypeCode.Set:
                return new CqlType(code) { Parameters = [Read(ref reader, depth + 1)] };
            case CqlTypeCode.Map:
                var key = Read(ref reader, depth + 1);
                return new CqlType(code) { Parameters = [key, Read(ref reader, depth + 1)] };
            case CqlTypeCode.Udt:
                return ReadUdt(ref reader, depth);
            case CqlTypeCode.Tuple:
                var count = reader.ReadShort();
                var components = new CqlType[count];
                for (var i = 0; i < count; i++)
                {
                    components[i] = Read(ref reader, depth + 1);
                }

                return new CqlType(code) { Parameters = components };
            default:
                return Enum.IsDefined(code) ? new CqlType(code) : throw new CqlProtocolException($"Unknown column type id 0x{(ushort)code:X4}.");
        }
    }

    public override string ToString() => Parameters.Count == 0
        ? (CustomClass ?? Code.ToString().ToLowerInvariant())
        : $"{Code.ToString().ToLowerInvariant()}<{string.Join(", ", Parameters)}>";

    private static CqlType ReadUdt(ref CqlReader reader, int depth)
    {
        var keyspace = reader.ReadString();
        var name = reader.ReadString();
        var count = reader.ReadShort();
        var names = new string[count];
        var types = new CqlType[count];
        for (var i = 0; i < count; i++)
        {
            names[i] = reader.ReadString();
            types[i] = Read(ref reader, depth + 1);
        }

        return new CqlType(CqlTypeCode.Udt) { UdtKeyspace = keyspace, UdtName = name, FieldNames = names, Parameters = types };
    }
}
