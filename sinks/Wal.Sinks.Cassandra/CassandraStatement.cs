using System.Text;

namespace Wal.Sinks.Cassandra;

/// <summary>
/// The statement for one (keyspace, table, column set, insert or delete), with the write timestamp
/// a bind marker bound to the delivery's version:
/// <c>INSERT INTO "ks"."t" ("a", "b") VALUES (?, ?) USING TIMESTAMP ?</c> (timestamp last) or
/// <c>DELETE FROM "ks"."t" USING TIMESTAMP ? WHERE "a" = ? AND "b" = ?</c> (timestamp first).
/// Names are double-quoted, so they are taken exactly as given (case-sensitive) and cannot inject CQL.
/// </summary>
public sealed record CassandraStatement(string Keyspace, string Table, string ColumnKey, bool IsDelete)
{
    /// <summary>Where the timestamp's bind marker is among the statement's markers.</summary>
    public int TimestampIndex(int columnCount) => IsDelete ? 0 : columnCount;

    /// <summary>Where column <paramref name="column"/>'s bind marker is.</summary>
    public int ColumnIndex(int column) => IsDelete ? column + 1 : column;

    public static CassandraStatement For(string keyspace, string table, CassandraRow row) =>
        new(keyspace, table, string.Join('\0', row.Columns.Select(c => c.Key)), row.IsDelete);

    public string ToCql()
    {
        var columns = ColumnKey.Split('\0').Select(Quote).ToList();
        var table = $"{Quote(Keyspace)}.{Quote(Table)}";
        if (IsDelete)
        {
            return new StringBuilder("DELETE FROM ").Append(table).Append(" USING TIMESTAMP ? WHERE ")
                .AppendJoin(" AND ", columns.Select(c => $"{c} = ?")).ToString();
        }

        return new StringBuilder("INSERT INTO ").Append(table).Append(" (").AppendJoin(", ", columns)
            .Append(") VALUES (").AppendJoin(", ", columns.Select(_ => "?")).Append(") USING TIMESTAMP ?").ToString();
    }

    private static string Quote(string identifier) => $"\"{identifier.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
