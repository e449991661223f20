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

    public static CqlType Read(ref CqlReader reader)
    {
        var code = (CqlTypeCode)reader.ReadShort();
        switch (code)
        {
            case CqlTypeCode.Custom:
                return new CqlType(code) { CustomClass = reader.ReadString() };
            case CqlTypeCode.List or CqlTypeCode.Set:
                return new CqlType(code) { Parameters = [Read(ref reader)] };
            case CqlTypeCode.Map:
                var key = Read(ref reader);
                return new CqlType(code) { Parameters = [key, Read(ref reader)] };
            case CqlTypeCode.Udt:
                return ReadUdt(ref reader);
            case CqlTypeCode.Tuple:
                var count = reader.ReadShort();
                var components = new CqlType[count];
                for (var i = 0; i < count; i++)
                {
                    components[i] = Read(ref reader);
                }

                return new CqlType(code) { Parameters = components };
            default:
                return Enum.IsDefined(code) ? new CqlType(code) : throw new CqlProtocolException($"Unknown column type id 0x{(ushort)code:X4}.");
        }
    }

    public override string ToString() => Parameters.Count == 0
        ? (CustomClass ?? Code.ToString().ToLowerInvariant())
        : $"{Code.ToString().ToLowerInvariant()}<{string.Join(", ", Parameters)}>";

    private static CqlType ReadUdt(ref CqlReader reader)
    {
        var keyspace = reader.ReadString();
        var name = reader.ReadString();
        var count = reader.ReadShort();
        var names = new string[count];
        var types = new CqlType[count];
        for (var i = 0; i < count; i++)
        {
            names[i] = reader.ReadString();
            types[i] = Read(ref reader);
        }

        return new CqlType(CqlTypeCode.Udt) { UdtKeyspace = keyspace, UdtName = name, FieldNames = names, Parameters = types };
    }
}
