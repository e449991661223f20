namespace Wal.Streams.Internals;

/// <summary>Sends a node's output records to its children, in the order they were added.</summary>
internal sealed class Forwarder<TKey, TValue>
{
    private readonly INodeInput<TKey, TValue>[] _children;
    private readonly string _owner;

    public Forwarder(string owner, IEnumerable<ProcessorNode> children)
    {
        _owner = owner;
        // The topology builder checked the types; a failed cast here is a bug in the builder.
        _children = children.Select(c => (INodeInput<TKey, TValue>)c).ToArray();
    }

    public ValueTask ForwardAsync(Record<TKey, TValue> record, string? childName)
    {
        if (childName is not null)
        {
            foreach (var child in _children)
            {
                if (child.Name == childName)
                {
                    return child.ProcessAsync(record);
                }
            }

            throw new StreamsException($"Node '{_owner}' has no child named '{childName}'.");
        }

        for (var i = 0; i < _children.Length; i++)
        {
            var pending = _children[i].ProcessAsync(record);
            if (!pending.IsCompletedSuccessfully)
            {
                return ForwardRestAsync(pending, record, i + 1);
            }
        }

        return default;
    }

    private async ValueTask ForwardRestAsync(ValueTask pending, Record<TKey, TValue> record, int next)
    {
        await pending;
        for (var i = next; i < _children.Length; i++)
        {
            await _children[i].ProcessAsync(record);
        }
    }
}
