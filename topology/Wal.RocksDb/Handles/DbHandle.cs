namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_t</c>; freeing it closes the database (flushing memtables when the WAL is off).</summary>
internal sealed class DbHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.Close(pointer);
}
