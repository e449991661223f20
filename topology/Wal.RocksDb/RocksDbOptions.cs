namespace Wal.RocksDb;

/// <summary>
/// How a database is opened and tuned. RocksDB's own write-ahead log is always off: Wal's state
/// stores are made durable by their changelog topics and by <see cref="RocksDatabase.Flush"/> before a checkpoint.
/// </summary>
public sealed record RocksDbOptions
{
    /// <summary>Create the database when the directory holds none.</summary>
    public bool CreateIfMissing { get; init; } = true;

    /// <summary>Bytes a memtable holds before it is flushed to a file.</summary>
    public long WriteBufferSize { get; init; } = 16L * 1024 * 1024;

    /// <summary>Memtables kept in memory (one active, the rest being flushed).</summary>
    public int MaxWriteBufferNumber { get; init; } = 3;

    /// <summary>Bytes of the LRU block cache; null keeps RocksDB's default cache, 0 disables caching.</summary>
    public long? BlockCacheSize { get; init; } = 32L * 1024 * 1024;

    /// <summary>Bytes per data block.</summary>
    public int BlockSize { get; init; } = 4 * 1024;

    /// <summary>Bits per key of a full bloom filter that spares reads of absent keys; 0 for none.</summary>
    public double BloomBitsPerKey { get; init; } = 10;

    public RocksDbCompression Compression { get; init; } = RocksDbCompression.Lz4;

    /// <summary>Files RocksDB may keep open; -1 for no limit.</summary>
    public int MaxOpenFiles { get; init; } = -1;

    /// <summary>Background threads for flushes and compactions.</summary>
    public int BackgroundThreads { get; init; } = 2;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (WriteBufferSize < 64 * 1024)
        {
            throw Invalid(nameof(WriteBufferSize), WriteBufferSize, "must be at least 64 KiB");
        }

        if (MaxWriteBufferNumber < 1)
        {
            throw Invalid(nameof(MaxWriteBufferNumber), MaxWriteBufferNumber, "must be at least 1");
        }

        if (BlockCacheSize < 0)
        {
            throw Invalid(nameof(BlockCacheSize), BlockCacheSize, "must not be negative");
        }

        if (BlockSize < 512)
        {
            throw Invalid(nameof(BlockSize), BlockSize, "must be at least 512 bytes");
        }

        if (BloomBitsPerKey is < 0 or > 64 || double.IsNaN(BloomBitsPerKey))
        {
            throw Invalid(nameof(BloomBitsPerKey), BloomBitsPerKey, "must be between 0 and 64");
        }

        if (!Enum.IsDefined(Compression))
        {
            throw Invalid(nameof(Compression), Compression, "is not a supported compression");
        }

        if (MaxOpenFiles is < -1 or (>= 0 and < 16))
        {
            throw Invalid(nameof(MaxOpenFiles), MaxOpenFiles, "must be -1 (no limit) or at least 16");
        }

        if (BackgroundThreads < 1)
        {
            throw Invalid(nameof(BackgroundThreads), BackgroundThreads, "must be at least 1");
        }
    }

    private static ArgumentException Invalid(string setting, object? value, string rule) =>
        new($"RocksDbOptions.{setting} = {value ?? "null"} {rule}.", setting);
}
