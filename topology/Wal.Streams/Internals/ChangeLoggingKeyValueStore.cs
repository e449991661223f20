using Confluent.Kafka;
using Wal.Streams.State;

namespace Wal.Streams.Internals;

/// <summary>
/// Writes every change to the store's changelog partition after applying it to the inner store (a delete is a tombstone).
/// The changelog is the store's durability: a store is rebuilt from it after a move or a crash.
/// </summary>
internal sealed class ChangeLoggingKeyValueStore(IKeyValueStore inner, TopicPartition changelog, TaskContext task) : IKeyValueStore
{
    public string Name => inner.Name;

    public bool Persistent => inner.Persistent;

    public long ApproximateCount => inner.ApproximateCount;

    public byte[]? Get(ReadOnlySpan<byte> key) => inner.Get(key);

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        inner.Put(key, value);
        Log(key.ToArray(), value.ToArray());
    }

    // The producer copies key and value into its own buffers before Produce returns, so arrays the caller will not
    // change are sent as they are: no copy per change on the scheduling path.
    public void PutOwned(byte[] key, byte[] value)
    {
        inner.Put(key, value);
        Log(key, value);
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        inner.Delete(key);
        Log(key.ToArray(), null);
    }

    public void DeleteOwned(byte[] key)
    {
        inner.Delete(key);
        Log(key, null);
    }

    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        inner.Write(batch);
        foreach (var (key, value) in batch.Operations)
        {
            Log(key, value);
        }
    }

    public IKeyValueIterator Range(byte[]? from, byte[]? to) => inner.Range(from, to);

    public void Flush() => inner.Flush();

    public void Dispose() => inner.Dispose();

    private void Log(byte[] key, byte[]? value) =>
        task.Collector.Send(changelog, key, value, task.CurrentTimestamp);
}
