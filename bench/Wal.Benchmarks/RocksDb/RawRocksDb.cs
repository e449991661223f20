using System.Runtime.InteropServices;

namespace Wal.Benchmarks.RocksDb;

/// <summary>
/// The baseline of the RocksDB benchmark: librocksdb called directly with raw pointers, no safe
/// handles, no checks — what a hand-written loop over the C API costs.
/// </summary>
internal static unsafe partial class RawRocksDb
{
    private const string Library = "rocksdb";

    [LibraryImport(Library, EntryPoint = "rocksdb_options_create")]
    public static partial IntPtr OptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_options_destroy")]
    public static partial void OptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_create_if_missing")]
    public static partial void OptionsSetCreateIfMissing(IntPtr options, byte value);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_write_buffer_size")]
    public static partial void OptionsSetWriteBufferSize(IntPtr options, nuint size);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_max_write_buffer_number")]
    public static partial void OptionsSetMaxWriteBufferNumber(IntPtr options, int count);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_max_open_files")]
    public static partial void OptionsSetMaxOpenFiles(IntPtr options, int count);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_compression")]
    public static partial void OptionsSetCompression(IntPtr options, int compression);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_increase_parallelism")]
    public static partial void OptionsIncreaseParallelism(IntPtr options, int threads);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_block_based_table_factory")]
    public static partial void OptionsSetBlockBasedTableFactory(IntPtr options, IntPtr table);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_create")]
    public static partial IntPtr BlockBasedOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_destroy")]
    public static partial void BlockBasedOptionsDestroy(IntPtr table);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_set_block_size")]
    public static partial void BlockBasedOptionsSetBlockSize(IntPtr table, nuint size);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_set_block_cache")]
    public static partial void BlockBasedOptionsSetBlockCache(IntPtr table, IntPtr cache);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_set_filter_policy")]
    public static partial void BlockBasedOptionsSetFilterPolicy(IntPtr table, IntPtr policy);

    [LibraryImport(Library, EntryPoint = "rocksdb_filterpolicy_create_bloom_full")]
    public static partial IntPtr FilterPolicyCreateBloomFull(double bitsPerKey);

    [LibraryImport(Library, EntryPoint = "rocksdb_cache_create_lru")]
    public static partial IntPtr CacheCreateLru(nuint capacity);

    [LibraryImport(Library, EntryPoint = "rocksdb_cache_destroy")]
    public static partial void CacheDestroy(IntPtr cache);

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_create")]
    public static partial IntPtr WriteOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_destroy")]
    public static partial void WriteOptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_disable_WAL")]
    public static partial void WriteOptionsDisableWal(IntPtr options, int disable);

    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_create")]
    public static partial IntPtr ReadOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_destroy")]
    public static partial void ReadOptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_flushoptions_create")]
    public static partial IntPtr FlushOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_flushoptions_destroy")]
    public static partial void FlushOptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr Open(IntPtr options, string path, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_close")]
    public static partial void Close(IntPtr db);

    [LibraryImport(Library, EntryPoint = "rocksdb_flush")]
    public static partial void Flush(IntPtr db, IntPtr options, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_write")]
    public static partial void Write(IntPtr db, IntPtr options, IntPtr batch, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_create")]
    public static partial IntPtr WriteBatchCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_destroy")]
    public static partial void WriteBatchDestroy(IntPtr batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_clear")]
    public static partial void WriteBatchClear(IntPtr batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_put")]
    public static partial void WriteBatchPut(IntPtr batch, byte* key, nuint keyLength, byte* value, nuint valueLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_property_int", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PropertyInt(IntPtr db, string name, ulong* value);

    [LibraryImport(Library, EntryPoint = "rocksdb_get")]
    public static partial byte* Get(IntPtr db, IntPtr options, byte* key, nuint keyLength, nuint* valueLength, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_get_pinned")]
    public static partial IntPtr GetPinned(IntPtr db, IntPtr options, byte* key, nuint keyLength, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_pinnableslice_value")]
    public static partial byte* PinnableSliceValue(IntPtr slice, nuint* valueLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_pinnableslice_destroy")]
    public static partial void PinnableSliceDestroy(IntPtr slice);

    [LibraryImport(Library, EntryPoint = "rocksdb_free")]
    public static partial void Free(void* pointer);

    public static void ThrowIfError(byte* error)
    {
        if (error != null)
        {
            var message = Marshal.PtrToStringUTF8((IntPtr)error);
            Free(error);
            throw new InvalidOperationException(message);
        }
    }
}
