namespace Wal.Streams.State;

/// <summary>
/// TEMPORARY placeholder written on the engine branch so the engine compiles and its tests run before the merge;
/// the state-store branch's InMemoryKeyValueStore (same constructor) replaces this file.
/// </summary>
public sealed class InMemoryKeyValueStore : IKeyValueStore
{
    private readonly SortedDictionary<byte[], byte[]> _entries = new(UnsignedBytes.Instance);

    public InMemoryKeyValueStore(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    public string Name { get; }

    public bool Persistent => false;

    public long ApproximateCount => _entries.Count;

    public byte[]? Get(ReadOnlySpan<byte> key) => _entries.TryGetValue(key.ToArray(), out var value) ? (byte[])value.Clone() : null;

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => _entries[key.ToArray()] = value.ToArray();

    public void Delete(ReadOnlySpan<byte> key) => _entries.Remove(key.ToArray());

    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var (key, value) in batch.Operations)
        {
            if (value is null)
            {
                _entries.Remove(key);
            }
            else
            {
                _entries[key] = value;
            }
        }
    }

    public IKeyValueIterator Range(byte[]? from, byte[]? to)
    {
        var selected = _entries
            .Where(e => (from is null || UnsignedBytes.Instance.Compare(e.Key, from) >= 0) && (to is null || UnsignedBytes.Instance.Compare(e.Key, to) < 0))
            .ToList();
        return new Iterator(selected);
    }

    public void Flush()
    {
    }

    public void Dispose() => _entries.Clear();

    private sealed class UnsignedBytes : IComparer<byte[]>
    {
        public static readonly UnsignedBytes Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    private sealed class Iterator(List<KeyValuePair<byte[], byte[]>> entries) : IKeyValueIterator
    {
        private int _index = -1;

        public ReadOnlySpan<byte> Key => entries[_index].Key;

        public ReadOnlySpan<byte> Value => entries[_index].Value;

        public bool MoveNext() => ++_index < entries.Count;

        public void Dispose()
        {
        }
    }
}
