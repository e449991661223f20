using System.Text.Json;

namespace Wal.Sinks.Cassandra;

/// <summary>
/// A payload decoded as a row: a UTF-8 JSON object of column name → value, columns kept in
/// ordinal order so that the same set of columns always makes the same statement.
/// </summary>
public sealed class CassandraRow
{
    private CassandraRow(IReadOnlyList<KeyValuePair<string, JsonElement>> columns)
    {
        Columns = columns;
    }

    public IReadOnlyList<KeyValuePair<string, JsonElement>> Columns { get; }

    public static CassandraRow Parse(ReadOnlyMemory<byte> payload)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(payload);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CassandraPayloadException($"The payload is not JSON: {e.Message}", e);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new CassandraPayloadException($"The payload must be a JSON object of column → value; it is a {root.ValueKind}.");
        }

        var columns = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (property.Name.Length == 0 || !columns.TryAdd(property.Name, property.Value))
            {
                throw new CassandraPayloadException($"Column name '{property.Name}' is empty or given twice.");
            }
        }

        return columns.Count > 0
            ? new CassandraRow([.. columns])
            : throw new CassandraPayloadException("The payload has no columns.");
    }
}
