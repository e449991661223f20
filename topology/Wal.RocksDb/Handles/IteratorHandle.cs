namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_iterator_t</c>; it keeps its database and read options alive.</summary>
internal sealed class IteratorHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.IterDestroy(pointer);
}
