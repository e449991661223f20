using Wal.RocksDb;

namespace Wal.Benchmarks.RocksDb;

/// <summary>A database opened and used through <see cref="RawRocksDb"/> only, with the store's options.</summary>
internal sealed unsafe class RawDatabase : IDisposable
{
    private readonly IntPtr _db;
    private readonly IntPtr _writeOptions;
    private readonly IntPtr _readOptions;
    private readonly IntPtr _flushOptions;

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
    }

    public void Put(byte[] key, byte[] value)
    {
        byte* error = null;
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            RawRocksDb.Put(_db, _writeOptions, k, (nuint)key.Length, v, (nuint)value.Length, &error);
        }

        RawRocksDb.ThrowIfError(error);
    }

    /// <summary>The same calls the store makes: a pinned slice copied once into a new array.</summary>
    public byte[]? GetPinned(byte[] key)
    {
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

    public void Flush()
    {
        byte* error = null;
        RawRocksDb.Flush(_db, _flushOptions, &error);
        RawRocksDb.ThrowIfError(error);
    }

    public void Dispose()
    {
        RawRocksDb.ReadOptionsDestroy(_readOptions);
        RawRocksDb.WriteOptionsDestroy(_writeOptions);
        RawRocksDb.FlushOptionsDestroy(_flushOptions);
        RawRocksDb.Close(_db);
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
