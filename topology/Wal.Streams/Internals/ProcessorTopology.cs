namespace Wal.Streams.Internals;

/// <summary>The running nodes of one task: a fresh instance of each node of its sub-topology.</summary>
internal sealed class ProcessorTopology
{
    private readonly List<(ProcessorNode Node, NodeDefinition Definition)> _nodes = [];
    private readonly Dictionary<string, ISourceNode> _sourcesByTopic = new(StringComparer.Ordinal);

    public ProcessorTopology(Subtopology subtopology)
    {
        Subtopology = subtopology;
        var byName = new Dictionary<string, ProcessorNode>(StringComparer.Ordinal);
        foreach (var definition in subtopology.Nodes)
        {
            var node = definition.Create();
            byName.Add(definition.Name, node);
            _nodes.Add((node, definition));
            foreach (var parent in definition.Parents)
            {
                byName[parent].Children.Add(node);
            }

            if (definition is ISourceDefinition source)
            {
                foreach (var topic in source.Topics)
                {
                    _sourcesByTopic.Add(topic, (ISourceNode)node);
                }
            }
        }
    }

    public Subtopology Subtopology { get; }

    public ISourceNode? SourceFor(string topic) => _sourcesByTopic.GetValueOrDefault(topic);

    /// <summary>Initialises nodes parents-first (the order they were added), once the task's stores are ready.</summary>
    public void Init(TaskContext task)
    {
        foreach (var (node, definition) in _nodes)
        {
            node.Init(task, definition.StoreNames.ToHashSet(StringComparer.Ordinal));
        }
    }

    /// <summary>Closes every node; the first failure is rethrown after all were tried.</summary>
    public void Close()
    {
        List<Exception>? errors = null;
        foreach (var (node, _) in _nodes)
        {
            try
            {
                node.Close();
            }
            catch (Exception e)
            {
                (errors ??= []).Add(e);
            }
        }

        if (errors is not null)
        {
            throw new StreamsException($"Closing the processors of sub-topology {Subtopology.Name} failed.", new AggregateException(errors));
        }
    }
}
