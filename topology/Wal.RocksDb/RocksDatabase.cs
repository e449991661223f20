using Wal.RocksDb.Handles;

namespace Wal.RocksDb;

/// <summary>
/// An open RocksDB database, written with RocksDB's WAL disabled. Not thread-affine, but Dispose must
/// not race other calls. Iterators keep the native database alive until they are disposed.
/// </summary>
public sealed unsafe class RocksDatabase : IDisposable
{
    private const string EstimateNumKeys = "rocksdb.estimate-num-keys";
    private const string ImmutableMemtables = "rocksdb.num-immutable-mem-table";
    private const string MemtableFlushPending = "rocksdb.mem-table-flush-pending";

    private readonly DbHandle _db;
    private readonly WriteOptionsHandle _writeOptions;
    private readonly ReadOptionsHandle _readOptions;
    private readonly FlushOptionsHandle _flushOptions;
    private readonly FlushOptionsHandle _startFlushOptions;
    private bool _disposed;

    private RocksDatabase(DbHandle db)
    {
        _db = db;
        _writeOptions = NativeMethods.WriteOptionsCreate();
        NativeMethods.WriteOptionsDisableWal(_writeOptions, 1);
        _readOptions = NativeMethods.ReadOptionsCreate();
        _flushOptions = NativeMethods.FlushOptionsCreate();
        NativeMethods.FlushOptionsSetWait(_flushOptions, 1);
        _startFlushOptions = NativeMethods.FlushOptionsCreate();
        NativeMethods.FlushOptionsSetWait(_startFlushOptions, 0);
    }

    /// <summary>The directory the database lives in.</summary>
    public required string Path { get; init; }

    /// <summary>Opens (or, with <see cref="RocksDbOptions.CreateIfMissing"/>, creates) the database in <paramref name="path"/>.</summary>
    /// <exception cref="RocksDbException">RocksDB refused, e.g. the directory is locked by another open database.</exception>
    public static RocksDatabase Open(string path, RocksDbOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var native = NativeOptions.Create(options);
        if (options.CreateIfMissing)
        {
            // RocksDB creates only the last directory level itself.
            Directory.CreateDirectory(path);
        }

        byte* error = null;
        var db = NativeMethods.Open(native, path, &error);
        if (error != null)
        {
            db.Dispose();
            NativeMethods.ThrowIfError(error);
        }

        return new RocksDatabase(db) { Path = path };
    }

    /// <summary>Deletes the database in <paramref name="path"/> and its files; a missing directory is not an error.</summary>
    public static void Destroy(string path, RocksDbOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!Directory.Exists(path))
        {
            return;
        }

        using var native = NativeOptions.Create(options);
        byte* error = null;
        NativeMethods.DestroyDb(native, path, &error);
        NativeMethods.ThrowIfError(error);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte* error = null;
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            NativeMethods.Put(_db, _writeOptions, k, (nuint)key.Length, v, (nuint)value.Length, &error);
        }

        NativeMethods.ThrowIfError(error);
    }

    /// <summary>The value under <paramref name="key"/>, copied once from RocksDB's pinned slice; null if absent.</summary>
    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte* error = null;
        IntPtr slice;
        fixed (byte* k = key)
        {
            slice = NativeMethods.GetPinned(_db, _readOptions, k, (nuint)key.Length, &error);
        }

        NativeMethods.ThrowIfError(error);
        if (slice == IntPtr.Zero)
        {
            return null;
        }

        // The slice lives only inside this method, so try/finally frees it without a safe handle's allocation.
        try
        {
            nuint length;
            var value = NativeMethods.PinnableSliceValue(slice, &length);
            return new ReadOnlySpan<byte>(value, checked((int)length)).ToArray();
        }
        finally
        {
            NativeMethods.PinnableSliceDestroy(slice);
        }
    }

    /// <summary>Removes <paramref name="key"/>; a missing key is not an error.</summary>
    public void Delete(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte* error = null;
        fixed (byte* k = key)
        {
            NativeMethods.Delete(_db, _writeOptions, k, (nuint)key.Length, &error);
        }

        NativeMethods.ThrowIfError(error);
    }

    /// <summary>Applies every operation in <paramref name="batch"/> atomically, in order.</summary>
    public void Write(RocksDbWriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte* error = null;
        NativeMethods.Write(_db, _writeOptions, batch.Handle, &error);
        NativeMethods.ThrowIfError(error);
    }

    /// <summary>Flushes the memtables to files and waits: with the WAL off, this is what makes writes survive a crash.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte* error = null;
        NativeMethods.Flush(_db, _flushOptions, &error);
        NativeMethods.ThrowIfError(error);
    }

    /// <summary>
    /// Seals the memtables and has RocksDB's background threads write them to files, returning at
    /// once; <see cref="FlushInProgress"/> turns false when they are written.
    /// </summary>
    public void StartFlush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte* error = null;
        NativeMethods.Flush(_db, _startFlushOptions, &error);
        NativeMethods.ThrowIfError(error);
    }

    /// <summary>
    /// True while sealed memtables wait to be written to files, whether <see cref="StartFlush"/> or a
    /// full memtable sealed them. Once false, everything written before the last
    /// <see cref="StartFlush"/> is in files.
    /// </summary>
    public bool FlushInProgress => (GetIntProperty(ImmutableMemtables) ?? 0) > 0 || (GetIntProperty(MemtableFlushPending) ?? 0) > 0;

    /// <summary>An unpositioned iterator over a snapshot of the database taken now.</summary>
    public RocksDbIterator CreateIterator() => CreateIterator(default, bounded: false);

    /// <summary>
    /// An unpositioned iterator over a snapshot taken now that becomes invalid at the first key
    /// ≥ <paramref name="upperBound"/>, without stepping over deleted entries beyond it.
    /// </summary>
    public RocksDbIterator CreateIterator(ReadOnlySpan<byte> upperBound) => CreateIterator(upperBound, bounded: true);

    private RocksDbIterator CreateIterator(ReadOnlySpan<byte> upperBound, bool bounded)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var readOptions = NativeMethods.ReadOptionsCreate();
        try
        {
            if (bounded)
            {
                readOptions.SetIterateUpperBound(upperBound);
            }

            var iterator = NativeMethods.CreateIterator(_db, readOptions);
            iterator.KeepAlive(_db, readOptions);
            return new RocksDbIterator(iterator, readOptions);
        }
        catch
        {
            readOptions.Dispose();
            throw;
        }
    }

    /// <summary>An integer property such as <c>rocksdb.estimate-num-keys</c>; null if RocksDB does not know it.</summary>
    public ulong? GetIntProperty(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ulong value;
        return NativeMethods.PropertyInt(_db, name, &value) == 0 ? value : null;
    }

    /// <summary>RocksDB's estimate of the number of keys (it counts overwrites and deletes until compaction).</summary>
    public long EstimateKeyCount => (long)(GetIntProperty(EstimateNumKeys) ?? 0);

    /// <summary>Closes the database once every iterator created from it is disposed too.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _writeOptions.Dispose();
        _readOptions.Dispose();
        _flushOptions.Dispose();
        _startFlushOptions.Dispose();
        _db.Dispose();
    }
}
