using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Wal.RocksDb.Handles;

namespace Wal.RocksDb;

/// <summary>
/// The RocksDB C API calls Wal uses (rocksdb/c.h, librocksdb 7.8). Objects are passed as safe handles,
/// keys and values as pointers into pinned managed memory, so the hot path copies nothing on the way in.
/// Every <c>char** errptr</c> must point at a null pointer before the call: RocksDB frees a non-null one.
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string Library = "rocksdb";

    // Debian's librocksdb-dev provides librocksdb.so, which default probing finds; a machine with only
    // the runtime package (librocksdb7.8) has the versioned name alone, so fall back to it.
    private const string VersionedLibrary = "librocksdb.so.7.8";

    static NativeMethods() => NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }

        return NativeLibrary.TryLoad(name, assembly, searchPath, out var handle)
            || NativeLibrary.TryLoad(VersionedLibrary, assembly, searchPath, out handle)
            ? handle
            : IntPtr.Zero;
    }

    [LibraryImport(Library, EntryPoint = "rocksdb_free")]
    internal static partial void Free(void* ptr);

    // Options.
    [LibraryImport(Library, EntryPoint = "rocksdb_options_create")]
    internal static partial OptionsHandle OptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_options_destroy")]
    internal static partial void OptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_create_if_missing")]
    internal static partial void OptionsSetCreateIfMissing(OptionsHandle options, byte value);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_write_buffer_size")]
    internal static partial void OptionsSetWriteBufferSize(OptionsHandle options, nuint size);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_max_write_buffer_number")]
    internal static partial void OptionsSetMaxWriteBufferNumber(OptionsHandle options, int count);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_max_open_files")]
    internal static partial void OptionsSetMaxOpenFiles(OptionsHandle options, int count);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_compression")]
    internal static partial void OptionsSetCompression(OptionsHandle options, int compression);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_increase_parallelism")]
    internal static partial void OptionsIncreaseParallelism(OptionsHandle options, int totalThreads);

    [LibraryImport(Library, EntryPoint = "rocksdb_options_set_block_based_table_factory")]
    internal static partial void OptionsSetBlockBasedTableFactory(OptionsHandle options, BlockBasedOptionsHandle tableOptions);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_create")]
    internal static partial BlockBasedOptionsHandle BlockBasedOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_destroy")]
    internal static partial void BlockBasedOptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_set_block_size")]
    internal static partial void BlockBasedOptionsSetBlockSize(BlockBasedOptionsHandle options, nuint blockSize);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_set_block_cache")]
    internal static partial void BlockBasedOptionsSetBlockCache(BlockBasedOptionsHandle options, CacheHandle cache);

    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_set_no_block_cache")]
    internal static partial void BlockBasedOptionsSetNoBlockCache(BlockBasedOptionsHandle options, byte value);

    /// <summary>Takes ownership of <paramref name="policy"/> (RocksDB wraps it in a shared pointer).</summary>
    [LibraryImport(Library, EntryPoint = "rocksdb_block_based_options_set_filter_policy")]
    internal static partial void BlockBasedOptionsSetFilterPolicy(BlockBasedOptionsHandle options, IntPtr policy);

    [LibraryImport(Library, EntryPoint = "rocksdb_filterpolicy_create_bloom_full")]
    internal static partial IntPtr FilterPolicyCreateBloomFull(double bitsPerKey);

    [LibraryImport(Library, EntryPoint = "rocksdb_cache_create_lru")]
    internal static partial CacheHandle CacheCreateLru(nuint capacity);

    [LibraryImport(Library, EntryPoint = "rocksdb_cache_destroy")]
    internal static partial void CacheDestroy(IntPtr cache);

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_create")]
    internal static partial WriteOptionsHandle WriteOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_destroy")]
    internal static partial void WriteOptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_writeoptions_disable_WAL")]
    internal static partial void WriteOptionsDisableWal(WriteOptionsHandle options, int disable);

    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_create")]
    internal static partial ReadOptionsHandle ReadOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_destroy")]
    internal static partial void ReadOptionsDestroy(IntPtr options);

    /// <summary>RocksDB keeps the pointer, not a copy: the bound must outlive the read options.</summary>
    [LibraryImport(Library, EntryPoint = "rocksdb_readoptions_set_iterate_upper_bound")]
    internal static partial void ReadOptionsSetIterateUpperBound(ReadOptionsHandle options, byte* key, nuint keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_flushoptions_create")]
    internal static partial FlushOptionsHandle FlushOptionsCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_flushoptions_destroy")]
    internal static partial void FlushOptionsDestroy(IntPtr options);

    [LibraryImport(Library, EntryPoint = "rocksdb_flushoptions_set_wait")]
    internal static partial void FlushOptionsSetWait(FlushOptionsHandle options, byte wait);

    // Database.
    [LibraryImport(Library, EntryPoint = "rocksdb_open", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DbHandle Open(OptionsHandle options, string path, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_close")]
    internal static partial void Close(IntPtr db);

    [LibraryImport(Library, EntryPoint = "rocksdb_destroy_db", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void DestroyDb(OptionsHandle options, string path, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_put")]
    internal static partial void Put(DbHandle db, WriteOptionsHandle options, byte* key, nuint keyLength, byte* value, nuint valueLength, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_delete")]
    internal static partial void Delete(DbHandle db, WriteOptionsHandle options, byte* key, nuint keyLength, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_write")]
    internal static partial void Write(DbHandle db, WriteOptionsHandle options, WriteBatchHandle batch, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_get_pinned")]
    internal static partial IntPtr GetPinned(DbHandle db, ReadOptionsHandle options, byte* key, nuint keyLength, byte** errptr);

    [LibraryImport(Library, EntryPoint = "rocksdb_pinnableslice_value")]
    [SuppressGCTransition]
    internal static partial byte* PinnableSliceValue(IntPtr slice, nuint* valueLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_pinnableslice_destroy")]
    internal static partial void PinnableSliceDestroy(IntPtr slice);

    [LibraryImport(Library, EntryPoint = "rocksdb_flush")]
    internal static partial void Flush(DbHandle db, FlushOptionsHandle options, byte** errptr);

    /// <summary>Returns 0 on success, -1 for an unknown or non-integer property.</summary>
    [LibraryImport(Library, EntryPoint = "rocksdb_property_int", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int PropertyInt(DbHandle db, string name, ulong* value);

    // Write batch.
    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_create")]
    internal static partial WriteBatchHandle WriteBatchCreate();

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_destroy")]
    internal static partial void WriteBatchDestroy(IntPtr batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_clear")]
    internal static partial void WriteBatchClear(WriteBatchHandle batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_count")]
    internal static partial int WriteBatchCount(WriteBatchHandle batch);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_put")]
    internal static partial void WriteBatchPut(WriteBatchHandle batch, byte* key, nuint keyLength, byte* value, nuint valueLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_writebatch_delete")]
    internal static partial void WriteBatchDelete(WriteBatchHandle batch, byte* key, nuint keyLength);

    // Iterator. Valid/key/value only read the iterator's current position: no I/O, no locks, no callbacks,
    // so they can skip the GC transition. Seek and next may read blocks from disk and keep it.
    [LibraryImport(Library, EntryPoint = "rocksdb_create_iterator")]
    internal static partial IteratorHandle CreateIterator(DbHandle db, ReadOptionsHandle options);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_destroy")]
    internal static partial void IterDestroy(IntPtr iterator);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_seek_to_first")]
    internal static partial void IterSeekToFirst(IteratorHandle iterator);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_seek")]
    internal static partial void IterSeek(IteratorHandle iterator, byte* key, nuint keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_next")]
    internal static partial void IterNext(IteratorHandle iterator);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_valid")]
    [SuppressGCTransition]
    internal static partial byte IterValid(IteratorHandle iterator);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_key")]
    [SuppressGCTransition]
    internal static partial byte* IterKey(IteratorHandle iterator, nuint* keyLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_value")]
    [SuppressGCTransition]
    internal static partial byte* IterValue(IteratorHandle iterator, nuint* valueLength);

    [LibraryImport(Library, EntryPoint = "rocksdb_iter_get_error")]
    internal static partial void IterGetError(IteratorHandle iterator, byte** errptr);

    /// <summary>Throws a <see cref="RocksDbException"/> carrying RocksDB's text if <paramref name="error"/> is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void ThrowIfError(byte* error)
    {
        if (error != null)
        {
            ThrowError(error);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowError(byte* error)
    {
        string message;
        try
        {
            message = Marshal.PtrToStringUTF8((IntPtr)error) ?? "unknown RocksDB error";
        }
        finally
        {
            Free(error);
        }

        throw new RocksDbException(message);
    }
}
