namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_writeoptions_t</c>.</summary>
internal sealed class WriteOptionsHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.WriteOptionsDestroy(pointer);
}
