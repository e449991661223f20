using Wal.RocksDb.Handles;

namespace Wal.RocksDb;

/// <summary>Builds the native <c>rocksdb_options_t</c> for a <see cref="RocksDbOptions"/>.</summary>
internal static class NativeOptions
{
    /// <summary>
    /// The returned handle owns everything it needs: the table factory copies the block-based options
    /// and shares the cache, so those are freed here right after use.
    /// </summary>
    public static OptionsHandle Create(RocksDbOptions options)
    {
        options.Validate();
        var native = NativeMethods.OptionsCreate();
        try
        {
            NativeMethods.OptionsSetCreateIfMissing(native, options.CreateIfMissing ? (byte)1 : (byte)0);
            NativeMethods.OptionsSetWriteBufferSize(native, (nuint)options.WriteBufferSize);
            NativeMethods.OptionsSetMaxWriteBufferNumber(native, options.MaxWriteBufferNumber);
            NativeMethods.OptionsSetMaxOpenFiles(native, options.MaxOpenFiles);
            NativeMethods.OptionsSetCompression(native, (int)options.Compression);
            NativeMethods.OptionsIncreaseParallelism(native, options.BackgroundThreads);
            using var table = CreateTableOptions(options);
            NativeMethods.OptionsSetBlockBasedTableFactory(native, table);
            return native;
        }
        catch
        {
            native.Dispose();
            throw;
        }
    }

    private static BlockBasedOptionsHandle CreateTableOptions(RocksDbOptions options)
    {
        var table = NativeMethods.BlockBasedOptionsCreate();
        NativeMethods.BlockBasedOptionsSetBlockSize(table, (nuint)options.BlockSize);
        if (options.BlockCacheSize is 0)
        {
            NativeMethods.BlockBasedOptionsSetNoBlockCache(table, 1);
        }
        else if (options.BlockCacheSize is { } size)
        {
            using var cache = NativeMethods.CacheCreateLru((nuint)size);
            NativeMethods.BlockBasedOptionsSetBlockCache(table, cache);
        }

        if (options.BloomBitsPerKey > 0)
        {
            // Ownership passes to the table options at once, so this pointer never needs a handle.
            NativeMethods.BlockBasedOptionsSetFilterPolicy(table, NativeMethods.FilterPolicyCreateBloomFull(options.BloomBitsPerKey));
        }

        return table;
    }
}
