using System.Text.Json;

namespace Wal.Sinks.Cassandra;

/// <summary>
/// A payload decoded as a row: a UTF-8 JSON object of column name → value, columns kept in
/// ordinal order so that the same set of columns always makes the same statement. With
/// <c>"$delete": true</c> the other columns are the primary key of a row to delete.
/// </summary>
public sealed class CassandraRow
{
    /// <summary>The reserved member that turns a payload into a delete of the row its key columns name.</summary>
    public const string DeleteMarker = "$delete";

    private CassandraRow(IReadOnlyList<KeyValuePair<string, JsonElement>> columns, bool isDelete)
    {
        Columns = columns;
        IsDelete = isDelete;
    }

    public IReadOnlyList<KeyValuePair<string, JsonElement>> Columns { get; }

    /// <summary>True when the payload deletes the row whose primary key <see cref="Columns"/> give.</summary>
    public bool IsDelete { get; }

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

        var isDelete = false;
        var columns = new SortedDictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = NameOf(property);
            if (name == DeleteMarker)
            {
                isDelete = property.Value.ValueKind == JsonValueKind.True
                    ? true
                    : throw new CassandraPayloadException($"\"{DeleteMarker}\" must be true when present; it is {property.Value.GetRawText()}.");
            }
            else if (name.Length == 0 || !columns.TryAdd(name, property.Value))
            {
                throw new CassandraPayloadException($"Column name '{name}' is empty or given twice.");
            }
            else if (name.Contains('\0', StringComparison.Ordinal))
            {
                // NUL separates the names in a statement's column key: "n\0i" would read as the
                // columns "n" and "i", a statement with more bind markers than values, failing as
                // retriable (a protocol fault) on every redelivery.
                throw new CassandraPayloadException($"Column name '{name.Replace('\0', '\uFFFD')}' contains a NUL character.");
            }
        }

        return columns.Count > 0
            ? new CassandraRow([.. columns], isDelete)
            : throw new CassandraPayloadException("The payload has no columns.");
    }

    // A name escaped as a lone surrogate ("\ud800") is valid JSON but no string: reading it throws,
    // which would escape the sink as a bug instead of failing this one payload.
    private static string NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException e)
        {
            throw new CassandraPayloadException($"A column name is not valid UTF-16 text: {e.Message}", e);
        }
    }
}
