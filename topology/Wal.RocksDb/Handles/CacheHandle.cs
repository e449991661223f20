namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_cache_t</c>: a shared pointer, so the table factory keeps the cache alive after this is freed.</summary>
internal sealed class CacheHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.CacheDestroy(pointer);
}
