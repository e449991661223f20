namespace Wal.Streams.State;

/// <summary>A forward cursor over a store's entries in key order.</summary>
public interface IKeyValueIterator : IDisposable
{
    /// <summary>Moves to the next entry; false at the end.</summary>
    bool MoveNext();

    /// <summary>The current key; valid until the next <see cref="MoveNext"/>.</summary>
    ReadOnlySpan<byte> Key { get; }

    /// <summary>The current value; valid until the next <see cref="MoveNext"/>.</summary>
    ReadOnlySpan<byte> Value { get; }
}
