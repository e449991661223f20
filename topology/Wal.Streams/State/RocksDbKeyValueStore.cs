using Wal.RocksDb;

namespace Wal.Streams.State;

/// <summary>
/// A persistent key-value store in a RocksDB database of its own directory. RocksDB's WAL is off:
/// writes reach disk on <see cref="Flush"/> (before every checkpoint) and on close; the changelog
/// topic covers everything after the last checkpoint.
/// </summary>
public sealed class RocksDbKeyValueStore : IKeyValueStore
{
    private static readonly RocksDbOptions DefaultOptions = new();

    private readonly RocksDatabase _db;
    private readonly RocksDbWriteBatch _batch = new();
    private readonly HashSet<RocksDbKeyValueIterator> _openIterators = [];
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
        return _db.Get(key);
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _db.Put(key, value);
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _db.Delete(key);
    }

    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
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
            }

            _db.Write(_batch);
        }
        finally
        {
            _batch.Clear();
        }
    }

    public IKeyValueIterator Range(byte[]? from, byte[]? to)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
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

        var iterator = new RocksDbKeyValueIterator(native, _openIterators);
        _openIterators.Add(iterator);
        return iterator;
    }

    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _db.Flush();
    }

    /// <summary>Disposes any iterator still open (RocksDB closes only after them), then closes the database.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var iterator in _openIterators.ToArray())
        {
            iterator.Dispose();
        }

        _batch.Dispose();
        _db.Dispose();
    }
}
