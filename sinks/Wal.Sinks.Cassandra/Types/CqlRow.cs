namespace Wal.Sinks.Cassandra.Types;

/// <summary>One row of a Rows result: raw [bytes] per column, decoded on demand.</summary>
public sealed class CqlRow
{
    private readonly IReadOnlyList<CqlColumnSpec> _columns;
    private readonly byte[]?[] _values;

    public CqlRow(IReadOnlyList<CqlColumnSpec> columns, byte[]?[] values)
    {
        _columns = columns;
        _values = values;
    }

    public int Count => _values.Length;

    /// <summary>The raw bytes of column <paramref name="index"/>; null for a null cell.</summary>
    public byte[]? GetRaw(int index) => _values[index];

    /// <summary>Column <paramref name="index"/> decoded by its type (needs result metadata).</summary>
    public object? Get(int index) => CqlTypeCodec.Decode(_columns[index].Type, _values[index]);

    /// <summary>The column named <paramref name="name"/> decoded by its type.</summary>
    public object? Get(string name)
    {
        for (var i = 0; i < _columns.Count; i++)
        {
            if (string.Equals(_columns[i].Name, name, StringComparison.Ordinal))
            {
                return Get(i);
            }
        }

        throw new KeyNotFoundException($"The result has no column '{name}'.");
    }
}
