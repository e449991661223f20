using System.Text;

namespace Wal.Sinks.Cassandra;

/// <summary>
/// The INSERT for one (keyspace, table, column set): every column a bind marker, and the write
/// timestamp a bind marker too (USING TIMESTAMP ?), bound to the delivery's version. Names are
/// double-quoted, so they are taken exactly as given (case-sensitive) and cannot inject CQL.
/// </summary>
public sealed record CassandraInsertStatement(string Keyspace, string Table, string ColumnKey)
{
    public static CassandraInsertStatement For(string keyspace, string table, IReadOnlyList<string> columns) =>
        new(keyspace, table, string.Join('\0', columns));

    public string ToCql()
    {
        var columns = ColumnKey.Split('\0');
        var cql = new StringBuilder("INSERT INTO ")
            .Append(Quote(Keyspace)).Append('.').Append(Quote(Table)).Append(" (");
        cql.AppendJoin(", ", columns.Select(Quote));
        cql.Append(") VALUES (").AppendJoin(", ", columns.Select(_ => "?"));
        return cql.Append(") USING TIMESTAMP ?").ToString();
    }

    private static string Quote(string identifier) => $"\"{identifier.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
