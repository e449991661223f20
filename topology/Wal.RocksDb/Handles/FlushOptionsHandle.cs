namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_flushoptions_t</c>.</summary>
internal sealed class FlushOptionsHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.FlushOptionsDestroy(pointer);
}
