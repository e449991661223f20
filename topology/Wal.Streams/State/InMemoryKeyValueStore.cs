namespace Wal.Streams.State;

/// <summary>
/// A key-value store held in a red-black tree ordered by unsigned byte order: O(log n) point operations
/// and range scans that start with one O(log n) seek. Keys and values are copied in and out, so callers
/// may reuse their buffers. Not persistent: its changelog is its only durability.
/// </summary>
public sealed class InMemoryKeyValueStore : IKeyValueStore
{
    private readonly SortedSet<InMemoryEntry> _entries = new(InMemoryEntry.Comparer.Instance);

    // One stream thread uses a store at a time (IKeyValueStore's contract), so one probe serves every lookup.
    private readonly InMemoryEntry _probe = new(new byte[64], 0, []);
    private bool _disposed;

    public InMemoryKeyValueStore(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    public string Name { get; }

    public bool Persistent => false;

    public long ApproximateCount
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _entries.Count;
        }
    }

    internal bool IsDisposed => _disposed;

    public byte[]? Get(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _probe.SetProbeKey(key);
        return _entries.TryGetValue(_probe, out var entry) ? entry.Value.AsSpan().ToArray() : null;
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        PutCore(key, value.ToArray());
    }

    public void Delete(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _probe.SetProbeKey(key);
        _entries.Remove(_probe);
    }

    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Nothing below can fail half-way (short of running out of memory), so applying in order is atomic.
        foreach (var (key, value) in batch.Operations)
        {
            if (value is null)
            {
                _probe.SetProbeKey(key);
                _entries.Remove(_probe);
            }
            else
            {
                PutCore(key, value.AsSpan().ToArray());
            }
        }
    }

    /// <summary>
    /// Copies the entries in range (references only: keys and values are never mutated) so the caller
    /// may write to the store while iterating, and sees the store as it was, like a RocksDB iterator.
    /// </summary>
    public IKeyValueIterator Range(byte[]? from, byte[]? to)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (from is not null && to is not null && ByteKeyComparer.Compare(from, to) >= 0)
        {
            return new InMemoryKeyValueIterator(this, []);
        }

        var lower = new InMemoryEntry(from ?? [], from?.Length ?? 0, []);
        var upper = to is null ? InMemoryEntry.End : new InMemoryEntry(to, to.Length, []);
        var snapshot = new List<(byte[] Key, byte[] Value)>();
        foreach (var entry in _entries.GetViewBetween(lower, upper))
        {
            if (ReferenceEquals(upper, InMemoryEntry.End) || ByteKeyComparer.Compare(entry.Key, to) < 0)
            {
                snapshot.Add((entry.KeyBuffer, entry.Value));
            }
        }

        return new InMemoryKeyValueIterator(this, snapshot);
    }

    public void Flush() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        _disposed = true;
        _entries.Clear();
    }

    private void PutCore(ReadOnlySpan<byte> key, byte[] value)
    {
        _probe.SetProbeKey(key);
        if (_entries.TryGetValue(_probe, out var existing))
        {
            existing.Value = value;
        }
        else
        {
            _entries.Add(new InMemoryEntry(key.ToArray(), key.Length, value));
        }
    }
}
