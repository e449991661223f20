namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_options_t</c>.</summary>
internal sealed class OptionsHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.OptionsDestroy(pointer);
}
