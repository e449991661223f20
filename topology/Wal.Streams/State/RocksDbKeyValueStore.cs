using Wal.RocksDb;

namespace Wal.Streams.State;

/// <summary>
/// A persistent key-value store in a RocksDB database of its own directory. RocksDB's WAL is off:
/// writes reach disk on <see cref="Flush"/> (before every checkpoint) and on close; the changelog
/// topic covers everything after the last checkpoint.
/// </summary>
/// <remarks>
/// Puts and deletes collect in one native write batch, applied when it holds
/// <see cref="MaxPendingWrites"/> operations and before every read, range, count, flush or close, so
/// a reader always sees its own writes. One batched write costs RocksDB's write path (write-thread
/// join, sequence numbers, memtable bookkeeping) once instead of per record. An error of a deferred
/// write surfaces at the call that applies it.
/// <para>
/// Damaged files that RocksDB meets after the store opened (a data block it reads only for a get, a
/// range or a compaction) fail the call with a <see cref="TaskCorruptedException"/> naming the store,
/// the <see cref="RocksDbException"/> inside: the task's remedy is to rebuild the store, not to retry.
/// Damage found while opening is a <see cref="RocksDbException"/> from the constructor.
/// </para>
/// </remarks>
public sealed class RocksDbKeyValueStore : IKeyValueStore
{
    /// <summary>How many buffered puts and deletes are applied together at most.</summary>
    public const int MaxPendingWrites = 1_000;

    private static readonly RocksDbOptions DefaultOptions = new();

    private readonly RocksDatabase _db;
    private readonly RocksDbWriteBatch _batch = new();
    private readonly HashSet<RocksDbKeyValueIterator> _openIterators = [];
    private int _pending;
    private bool _disposed;

    /// <summary>Opens the store in <paramref name="directory"/>, creating it if missing.</summary>
    /// <exception cref="RocksDbException">RocksDB refused, e.g. another open store holds the directory's lock.</exception>
    public RocksDbKeyValueStore(string name, string directory)
        : this(name, directory, DefaultOptions)
    {
    }

    public RocksDbKeyValueStore(string name, string directory, RocksDbOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Name = name;
        DirectoryPath = directory;
        _db = RocksDatabase.Open(directory, options);
    }

    public string Name { get; }

    /// <summary>The directory holding the store's files.</summary>
    public string DirectoryPath { get; }

    public bool Persistent => true;

    /// <summary>RocksDB's estimate: it may count overwritten and deleted keys until they are compacted.</summary>
    public long ApproximateCount
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ApplyPending();
            return _db.EstimateKeyCount;
        }
    }

    /// <summary>Deletes a closed store's database and directory; a missing directory is not an error.</summary>
    public static void Destroy(string directory)
    {
        RocksDatabase.Destroy(directory, DefaultOptions);

        // RocksDB removes only the files it recognises; whatever else is left belongs to the wiped store too.
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ApplyPending();
        try
        {
            return _db.Get(key);
        }
        catch (RocksDbException e) when (e.IsCorruption)
        {
            throw Corrupted(Name, e);
        }
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _batch.Put(key, value);
        Added();
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _batch.Delete(key);
        Added();
    }

    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Appended to the buffered writes, which precede it: one native batch keeps both the order and the atomicity.
        foreach (var (key, value) in batch.Operations)
        {
            if (value is null)
            {
                _batch.Delete(key);
            }
            else
            {
                _batch.Put(key, value);
            }

            _pending++;
        }

        ApplyPending();
    }

    public IKeyValueIterator Range(byte[]? from, byte[]? to)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ApplyPending();
        var native = to is null ? _db.CreateIterator() : _db.CreateIterator(to);
        try
        {
            if (from is null)
            {
                native.SeekToFirst();
            }
            else
            {
                native.Seek(from);
            }
        }
        catch
        {
            native.Dispose();
            throw;
        }

        var iterator = new RocksDbKeyValueIterator(native, Name, _openIterators);
        _openIterators.Add(iterator);
        return iterator;
    }

    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ApplyPending();
        try
        {
            _db.Flush();
        }
        catch (RocksDbException e) when (e.IsCorruption)
        {
            throw Corrupted(Name, e);
        }
    }

    /// <summary>
    /// Like <see cref="Flush"/>, but returns once the flush has started; <see cref="FlushInProgress"/>
    /// is true until everything written before this call is in files.
    /// </summary>
    public void StartFlush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ApplyPending();
        try
        {
            _db.StartFlush();
        }
        catch (RocksDbException e) when (e.IsCorruption)
        {
            throw Corrupted(Name, e);
        }
    }

    /// <summary>True while a flush (started, or RocksDB's own for a full memtable) is still writing files.</summary>
    public bool FlushInProgress
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _db.FlushInProgress;
        }
    }

    /// <summary>Disposes any iterator still open (RocksDB closes only after them), then closes the database.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            ApplyPending();
        }
        finally
        {
            _disposed = true;
            foreach (var iterator in _openIterators.ToArray())
            {
                iterator.Dispose();
            }

            _batch.Dispose();
            _db.Dispose();
        }
    }

    internal static TaskCorruptedException Corrupted(string store, RocksDbException error) =>
        new($"Store '{store}' is corrupt: {error.Message}", error) { StoreName = store };

    private void Added()
    {
        if (++_pending >= MaxPendingWrites)
        {
            ApplyPending();
        }
    }

    private void ApplyPending()
    {
        if (_pending == 0)
        {
            return;
        }

        try
        {
            _db.Write(_batch);
        }
        catch (RocksDbException e) when (e.IsCorruption)
        {
            // A compaction that met damaged files stops the database's writes with the same status.
            throw Corrupted(Name, e);
        }
        finally
        {
            _batch.Clear();
            _pending = 0;
        }
    }
}
