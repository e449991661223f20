namespace Wal.Streams.State;

/// <summary>Puts and deletes that a store applies all together or not at all.</summary>
public sealed class WriteBatch
{
    private readonly List<(byte[] Key, byte[]? Value)> _operations = [];

    /// <summary>The operations in the order they were added; a null value is a delete.</summary>
    public IReadOnlyList<(byte[] Key, byte[]? Value)> Operations => _operations;

    public WriteBatch Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        _operations.Add((key.ToArray(), value.ToArray()));
        return this;
    }

    public WriteBatch Delete(ReadOnlySpan<byte> key)
    {
        _operations.Add((key.ToArray(), null));
        return this;
    }
}
