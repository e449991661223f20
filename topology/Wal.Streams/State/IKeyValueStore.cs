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

    /// <summary>
    /// <see cref="Put(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> with arrays the caller will not change afterwards: a layer
    /// that sends the bytes on (the changelog) uses them as they are instead of copying them.
    /// </summary>
    void PutOwned(byte[] key, byte[] value) => Put(key.AsSpan(), value.AsSpan());

    /// <summary>Removes <paramref name="key"/>; a missing key is not an error.</summary>
    void Delete(ReadOnlySpan<byte> key);

    /// <summary><see cref="Delete(ReadOnlySpan{byte})"/> with a key the caller will not change afterwards (see <see cref="PutOwned"/>).</summary>
    void DeleteOwned(byte[] key) => Delete(key.AsSpan());

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
