namespace Wal.RocksDb.Handles;

/// <summary>A <c>rocksdb_block_based_table_options_t</c>.</summary>
internal sealed class BlockBasedOptionsHandle : RocksDbHandle
{
    protected override void Destroy(IntPtr pointer) => NativeMethods.BlockBasedOptionsDestroy(pointer);
}
