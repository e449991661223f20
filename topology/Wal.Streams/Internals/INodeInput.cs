namespace Wal.Streams.Internals;

/// <summary>A node that accepts records of one key and value type: processors and sinks.</summary>
internal interface INodeInput<TKey, TValue>
{
    string Name { get; }

    ValueTask ProcessAsync(Record<TKey, TValue> record);
}
