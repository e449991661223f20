namespace Wal.RocksDb;

/// <summary>Block compression; the values are RocksDB's C API constants.</summary>
public enum RocksDbCompression
{
    None = 0,
    Snappy = 1,
    Lz4 = 4,
    Zstd = 7,
}
