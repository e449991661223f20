using Wal.Streams.State;

namespace Wal.Streams.Internals;

/// <summary>The outermost store layer: counts operations per store, then delegates.</summary>
internal sealed class MeteredKeyValueStore(IKeyValueStore inner) : IKeyValueStore
{
    private readonly KeyValuePair<string, object?> _get = Operation("get");
    private readonly KeyValuePair<string, object?> _put = Operation("put");
    private readonly KeyValuePair<string, object?> _delete = Operation("delete");
    private readonly KeyValuePair<string, object?> _write = Operation("write");
    private readonly KeyValuePair<string, object?> _range = Operation("range");
    private readonly KeyValuePair<string, object?> _storeTag = new("store", inner.Name);

    public string Name => inner.Name;

    public bool Persistent => inner.Persistent;

    public long ApproximateCount => inner.ApproximateCount;

    public IKeyValueStore Inner => inner;

    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        StreamsMetrics.StoreOperations.Add(1, _storeTag, _get);
        return inner.Get(key);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        StreamsMetrics.StoreOperations.Add(1, _storeTag, _put);
        inner.Put(key, value);
    }

    public void PutOwned(byte[] key, byte[] value)
    {
        StreamsMetrics.StoreOperations.Add(1, _storeTag, _put);
        inner.PutOwned(key, value);
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        StreamsMetrics.StoreOperations.Add(1, _storeTag, _delete);
        inner.Delete(key);
    }

    public void DeleteOwned(byte[] key)
    {
        StreamsMetrics.StoreOperations.Add(1, _storeTag, _delete);
        inner.DeleteOwned(key);
    }

    public void Write(WriteBatch batch)
    {
        StreamsMetrics.StoreOperations.Add(1, _storeTag, _write);
        inner.Write(batch);
    }

    public IKeyValueIterator Range(byte[]? from, byte[]? to)
    {
        StreamsMetrics.StoreOperations.Add(1, _storeTag, _range);
        return inner.Range(from, to);
    }

    public void Flush() => inner.Flush();

    public void Dispose() => inner.Dispose();

    private static KeyValuePair<string, object?> Operation(string operation) => new("operation", operation);
}
