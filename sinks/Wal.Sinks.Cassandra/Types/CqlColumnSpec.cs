using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Types;

/// <summary>A &lt;col_spec_i&gt; (spec 4.2.5.2): where the column lives, its name and its type.</summary>
public sealed record CqlColumnSpec(string Keyspace, string Table, string Name, CqlType Type)
{
    /// <summary>Flag bit: one keyspace and table for all columns, written once before them.</summary>
    internal const int GlobalTablesSpecFlag = 0x0001;

    /// <summary>Reads <paramref name="count"/> column specs, with or without a global table spec.</summary>
    internal static IReadOnlyList<CqlColumnSpec> ReadList(ref CqlReader reader, int flags, int count)
    {
        string? keyspace = null;
        string? table = null;
        if ((flags & GlobalTablesSpecFlag) != 0)
        {
            keyspace = reader.ReadString();
            table = reader.ReadString();
        }

        // At least a name ([string]) and a type id ([short]) per column.
        reader.EnsureRoomFor(count, 4, "column specs");
        var columns = new CqlColumnSpec[count];
        for (var i = 0; i < count; i++)
        {
            var ks = keyspace ?? reader.ReadString();
            var tb = table ?? reader.ReadString();
            var name = reader.ReadString();
            columns[i] = new CqlColumnSpec(ks, tb, name, CqlType.Read(ref reader));
        }

        return columns;
    }
}
