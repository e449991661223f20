namespace Wal.Streams.State;

/// <summary>
/// PLACEHOLDER on the engine branch, so that Stores.PersistentKeyValueStore compiles before the merge.
/// The state-store branch's RocksDbKeyValueStore (same constructor) replaces this file.
/// </summary>
public sealed class RocksDbKeyValueStore : IKeyValueStore
{
    public RocksDbKeyValueStore(string name, string directory) =>
        throw new NotSupportedException($"RocksDbKeyValueStore '{name}' at '{directory}' is a placeholder on this branch; merge the state-store branch.");

    public string Name => throw new NotSupportedException();

    public bool Persistent => true;

    public long ApproximateCount => throw new NotSupportedException();

    public byte[]? Get(ReadOnlySpan<byte> key) => throw new NotSupportedException();

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => throw new NotSupportedException();

    public void Delete(ReadOnlySpan<byte> key) => throw new NotSupportedException();

    public void Write(WriteBatch batch) => throw new NotSupportedException();

    public IKeyValueIterator Range(byte[]? from, byte[]? to) => throw new NotSupportedException();

    public void Flush() => throw new NotSupportedException();

    public void Dispose()
    {
    }
}
