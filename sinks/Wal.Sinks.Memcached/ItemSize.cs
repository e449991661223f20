namespace Wal.Sinks.Memcached;

/// <summary>Whether a key and value fit in an item of a given size limit (memcached's <c>-I</c>, <c>item_size_max</c>).</summary>
internal static class ItemSize
{
    /// <summary>
    /// What memcached adds to key and value in an item (its header, CAS and line end), rounded up: a value close to the
    /// limit is refused a little early rather than sent to be refused by the server.
    /// </summary>
    public const int OverheadBytes = 128;

    public static bool Fits(int keyBytes, int valueBytes, int limit) => (long)keyBytes + valueBytes + OverheadBytes <= limit;
}
