namespace Wal.Streams.State;

/// <summary>
/// One entry of an <see cref="InMemoryKeyValueStore"/>. The key may sit at the start of a larger buffer
/// (a reusable lookup probe); stored entries own an exact-length key. Values are replaced, never
/// mutated, so an iterator's snapshot keeps the value it saw.
/// </summary>
internal sealed class InMemoryEntry
{
    /// <summary>Sorts after every key: the upper end of an open range.</summary>
    public static readonly InMemoryEntry End = new([], 0, []);

    public InMemoryEntry(byte[] key, int keyLength, byte[] value)
    {
        KeyBuffer = key;
        KeyLength = keyLength;
        Value = value;
    }

    public byte[] KeyBuffer { get; private set; }

    public int KeyLength { get; private set; }

    public byte[] Value { get; set; }

    public ReadOnlySpan<byte> Key => KeyBuffer.AsSpan(0, KeyLength);

    /// <summary>Points this probe at a copy of <paramref name="key"/>, reusing its buffer when large enough.</summary>
    public void SetProbeKey(ReadOnlySpan<byte> key)
    {
        if (KeyBuffer.Length < key.Length)
        {
            KeyBuffer = new byte[Math.Max(key.Length, KeyBuffer.Length * 2)];
        }

        key.CopyTo(KeyBuffer);
        KeyLength = key.Length;
    }

    /// <summary>Orders entries by key, with <see cref="End"/> after all of them.</summary>
    public sealed class Comparer : IComparer<InMemoryEntry>
    {
        public static readonly Comparer Instance = new();

        public int Compare(InMemoryEntry? x, InMemoryEntry? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (ReferenceEquals(x, End))
            {
                return 1;
            }

            if (ReferenceEquals(y, End))
            {
                return -1;
            }

            return ByteKeyComparer.Compare(x!.Key, y!.Key);
        }
    }
}
