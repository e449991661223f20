using Wal.RocksDb;

namespace Wal.Streams.State;

/// <summary>Adapts a positioned <see cref="RocksDbIterator"/> to <see cref="IKeyValueIterator"/>'s MoveNext-first protocol.</summary>
internal sealed class RocksDbKeyValueIterator : IKeyValueIterator
{
    private readonly RocksDbIterator _iterator;
    private readonly string _store;
    private readonly HashSet<RocksDbKeyValueIterator> _openIterators;
    private bool _started;
    private bool _onEntry;
    private bool _disposed;

    public RocksDbKeyValueIterator(RocksDbIterator iterator, string store, HashSet<RocksDbKeyValueIterator> openIterators)
    {
        _iterator = iterator;
        _store = store;
        _openIterators = openIterators;
    }

    public ReadOnlySpan<byte> Key
    {
        get
        {
            ThrowIfNotOnEntry();
            return _iterator.Key;
        }
    }

    public ReadOnlySpan<byte> Value
    {
        get
        {
            ThrowIfNotOnEntry();
            return _iterator.Value;
        }
    }

    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_started)
        {
            if (!_onEntry)
            {
                return false;
            }

            _iterator.Next();
        }

        _started = true;
        _onEntry = _iterator.Valid;
        if (!_onEntry)
        {
            // The end of the range, or an I/O error that must not pass for the end.
            try
            {
                _iterator.ThrowIfFailed();
            }
            catch (RocksDbException e) when (e.IsCorruption)
            {
                throw RocksDbKeyValueStore.Corrupted(_store, e);
            }
        }

        return _onEntry;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _onEntry = false;
        _openIterators.Remove(this);
        _iterator.Dispose();
    }

    private void ThrowIfNotOnEntry()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // RocksDB's key and value of an unpositioned iterator are undefined memory, never to be read.
        if (!_onEntry)
        {
            throw new InvalidOperationException("The iterator is not on an entry: call MoveNext and check its result first.");
        }
    }
}
