namespace Wal.Streams.State;

/// <summary>Iterates a snapshot taken by <see cref="InMemoryKeyValueStore.Range"/>.</summary>
internal sealed class InMemoryKeyValueIterator : IKeyValueIterator
{
    private readonly InMemoryKeyValueStore _store;
    private readonly List<(byte[] Key, byte[] Value)> _entries;
    private int _index = -1;
    private bool _disposed;

    public InMemoryKeyValueIterator(InMemoryKeyValueStore store, List<(byte[] Key, byte[] Value)> entries)
    {
        _store = store;
        _entries = entries;
    }

    public ReadOnlySpan<byte> Key => Current.Key;

    public ReadOnlySpan<byte> Value => Current.Value;

    private (byte[] Key, byte[] Value) Current
    {
        get
        {
            ThrowIfDisposed();
            if (_index < 0 || _index >= _entries.Count)
            {
                throw new InvalidOperationException("The iterator is not on an entry: call MoveNext and check its result first.");
            }

            return _entries[_index];
        }
    }

    public bool MoveNext()
    {
        ThrowIfDisposed();
        if (_index < _entries.Count)
        {
            _index++;
        }

        return _index < _entries.Count;
    }

    public void Dispose()
    {
        _disposed = true;
        _entries.Clear();
    }

    private void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ObjectDisposedException.ThrowIf(_store.IsDisposed, _store);
    }
}
