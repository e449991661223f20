namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_writebatch_t</c>.</summary>
internal sealed class WriteBatchHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.WriteBatchDestroy(pointer);
}
