using Wal.RocksDb.Handles;

namespace Wal.RocksDb;

/// <summary>Puts and deletes that <see cref="RocksDatabase.Write"/> applies atomically, in the order added.</summary>
public sealed unsafe class RocksDbWriteBatch : IDisposable
{
    private readonly WriteBatchHandle _batch = NativeMethods.WriteBatchCreate();

    internal WriteBatchHandle Handle => _batch;

    /// <summary>The number of operations in the batch.</summary>
    public int Count => NativeMethods.WriteBatchCount(_batch);

    public RocksDbWriteBatch Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            NativeMethods.WriteBatchPut(_batch, k, (nuint)key.Length, v, (nuint)value.Length);
        }

        return this;
    }

    public RocksDbWriteBatch Delete(ReadOnlySpan<byte> key)
    {
        fixed (byte* k = key)
        {
            NativeMethods.WriteBatchDelete(_batch, k, (nuint)key.Length);
        }

        return this;
    }

    /// <summary>Empties the batch so it can be reused.</summary>
    public void Clear() => NativeMethods.WriteBatchClear(_batch);

    public void Dispose() => _batch.Dispose();
}
