namespace Wal.Streams.State;

/// <summary>
/// A task-local key-value store of raw bytes, ordered by key (unsigned lexicographic byte order).
/// Stores are used by one stream thread at a time: implementations need no locking.
/// </summary>
public interface IKeyValueStore : IStateStore
{
    /// <summary>The value stored under <paramref name="key"/>, or null.</summary>
    byte[]? Get(ReadOnlySpan<byte> key);

    void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Removes <paramref name="key"/>; a missing key is not an error.</summary>
    void Delete(ReadOnlySpan<byte> key);

    /// <summary>Applies every operation of <paramref name="batch"/> atomically.</summary>
    void Write(WriteBatch batch);

    /// <summary>
    /// Entries with <paramref name="from"/> ≤ key &lt; <paramref name="to"/> in key order;
    /// null bounds are open. The caller disposes the iterator.
    /// </summary>
    IKeyValueIterator Range(byte[]? from, byte[]? to);

    /// <summary>An estimate of the number of entries (exact for in-memory stores).</summary>
    long ApproximateCount { get; }
}
