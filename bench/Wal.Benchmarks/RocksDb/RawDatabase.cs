using Wal.RocksDb;
using Wal.Streams.State;

namespace Wal.Benchmarks.RocksDb;

/// <summary>
/// A database opened and used through <see cref="RawRocksDb"/> only, with the store's options and the store's native
/// calls: puts collect in one write batch, applied every <see cref="RocksDbKeyValueStore.MaxPendingWrites"/> and before
/// a read or flush, as <see cref="RocksDbKeyValueStore"/> does. One <c>rocksdb_put</c> per key pays RocksDB's write path
/// per key, and the store then looked faster than the calls it makes.
/// </summary>
internal sealed unsafe class RawDatabase : IDisposable
{
    private readonly IntPtr _db;
    private readonly IntPtr _writeOptions;
    private readonly IntPtr _readOptions;
    private readonly IntPtr _flushOptions;
    private readonly IntPtr _batch;
    private int _pending;

    public RawDatabase(string path, RocksDbOptions options)
    {
        Directory.CreateDirectory(path);
        var native = CreateOptions(options);
        try
        {
            byte* error = null;
            _db = RawRocksDb.Open(native, path, &error);
            RawRocksDb.ThrowIfError(error);
        }
        finally
        {
            RawRocksDb.OptionsDestroy(native);
        }

        _writeOptions = RawRocksDb.WriteOptionsCreate();
        RawRocksDb.WriteOptionsDisableWal(_writeOptions, 1);
        _readOptions = RawRocksDb.ReadOptionsCreate();
        _flushOptions = RawRocksDb.FlushOptionsCreate();
        _batch = RawRocksDb.WriteBatchCreate();
    }

    public void Put(byte[] key, byte[] value)
    {
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            RawRocksDb.WriteBatchPut(_batch, k, (nuint)key.Length, v, (nuint)value.Length);
        }

        if (++_pending >= RocksDbKeyValueStore.MaxPendingWrites)
        {
            ApplyPending();
        }
    }

    /// <summary>The same calls the store makes: a pinned slice copied once into a new array.</summary>
    public byte[]? GetPinned(byte[] key)
    {
        ApplyPending();
        byte* error = null;
        IntPtr slice;
        fixed (byte* k = key)
        {
            slice = RawRocksDb.GetPinned(_db, _readOptions, k, (nuint)key.Length, &error);
        }

        RawRocksDb.ThrowIfError(error);
        if (slice == IntPtr.Zero)
        {
            return null;
        }

        nuint length;
        var value = RawRocksDb.PinnableSliceValue(slice, &length);
        var copy = new ReadOnlySpan<byte>(value, (int)length).ToArray();
        RawRocksDb.PinnableSliceDestroy(slice);
        return copy;
    }

    /// <summary>The plain C API get: RocksDB mallocs a copy, which is copied again and freed.</summary>
    public byte[]? GetMalloced(byte[] key)
    {
        ApplyPending();
        byte* error = null;
        nuint length;
        byte* value;
        fixed (byte* k = key)
        {
            value = RawRocksDb.Get(_db, _readOptions, k, (nuint)key.Length, &length, &error);
        }

        RawRocksDb.ThrowIfError(error);
        if (value == null)
        {
            return null;
        }

        var copy = new ReadOnlySpan<byte>(value, (int)length).ToArray();
        RawRocksDb.Free(value);
        return copy;
    }

    /// <summary>An integer property such as <c>rocksdb.num-entries-active-mem-table</c>; null if RocksDB does not know it.</summary>
    public ulong? GetIntProperty(string name)
    {
        ulong value;
        return RawRocksDb.PropertyInt(_db, name, &value) == 0 ? value : null;
    }

    public void Flush()
    {
        ApplyPending();
        byte* error = null;
        RawRocksDb.Flush(_db, _flushOptions, &error);
        RawRocksDb.ThrowIfError(error);
    }

    public void Dispose()
    {
        ApplyPending();
        RawRocksDb.WriteBatchDestroy(_batch);
        RawRocksDb.ReadOptionsDestroy(_readOptions);
        RawRocksDb.WriteOptionsDestroy(_writeOptions);
        RawRocksDb.FlushOptionsDestroy(_flushOptions);
        RawRocksDb.Close(_db);
    }

    private void ApplyPending()
    {
        if (_pending == 0)
        {
            return;
        }

        byte* error = null;
        RawRocksDb.Write(_db, _writeOptions, _batch, &error);
        RawRocksDb.WriteBatchClear(_batch);
        _pending = 0;
        RawRocksDb.ThrowIfError(error);
    }

    private static IntPtr CreateOptions(RocksDbOptions options)
    {
        var native = RawRocksDb.OptionsCreate();
        RawRocksDb.OptionsSetCreateIfMissing(native, 1);
        RawRocksDb.OptionsSetWriteBufferSize(native, (nuint)options.WriteBufferSize);
        RawRocksDb.OptionsSetMaxWriteBufferNumber(native, options.MaxWriteBufferNumber);
        RawRocksDb.OptionsSetMaxOpenFiles(native, options.MaxOpenFiles);
        RawRocksDb.OptionsSetCompression(native, (int)options.Compression);
        RawRocksDb.OptionsIncreaseParallelism(native, options.BackgroundThreads);
        var table = RawRocksDb.BlockBasedOptionsCreate();
        RawRocksDb.BlockBasedOptionsSetBlockSize(table, (nuint)options.BlockSize);
        var cache = RawRocksDb.CacheCreateLru((nuint)(options.BlockCacheSize ?? 0));
        RawRocksDb.BlockBasedOptionsSetBlockCache(table, cache);
        RawRocksDb.BlockBasedOptionsSetFilterPolicy(table, RawRocksDb.FilterPolicyCreateBloomFull(options.BloomBitsPerKey));
        RawRocksDb.OptionsSetBlockBasedTableFactory(native, table);
        RawRocksDb.CacheDestroy(cache);
        RawRocksDb.BlockBasedOptionsDestroy(table);
        return native;
    }
}
