using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Messages;

/// <summary>
/// One &lt;query_i&gt; of a BATCH (spec 4.1.7): a query string (kind 0) or a prepared id (kind 1),
/// with its positional values.
/// </summary>
public sealed record CqlBatchStatement
{
    private CqlBatchStatement(string? query, ReadOnlyMemory<byte>? preparedId, IReadOnlyList<CqlValue> values)
    {
        Query = query;
        PreparedId = preparedId;
        Values = values;
    }

    public string? Query { get; }

    public ReadOnlyMemory<byte>? PreparedId { get; }

    public IReadOnlyList<CqlValue> Values { get; }

    public static CqlBatchStatement Simple(string query, IReadOnlyList<CqlValue> values) => new(query, null, values);

    public static CqlBatchStatement Prepared(ReadOnlyMemory<byte> preparedId, IReadOnlyList<CqlValue> values) => new(null, preparedId, values);

    public void WriteTo(CqlWriter writer)
    {
        if (PreparedId is { } id)
        {
            writer.WriteByte(1);
            writer.WriteShortBytes(id.Span);
        }
        else
        {
            writer.WriteByte(0);
            writer.WriteLongString(Query!);
        }

        writer.WriteShort(checked((ushort)Values.Count));
        foreach (var value in Values)
        {
            writer.WriteValue(value);
        }
    }
}
