namespace Wal.Streams.Internals;

/// <summary>A node of one task's running topology.</summary>
internal abstract class ProcessorNode(string name)
{
    public string Name { get; } = name;

    public List<ProcessorNode> Children { get; } = [];

    /// <summary>Wires the children (already added to <see cref="Children"/>) and initialises the node.</summary>
    public abstract void Init(TaskContext task, IReadOnlySet<string> storeNames);

    public virtual void Close()
    {
    }
}
