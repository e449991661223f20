using System.Buffers;
using Confluent.Kafka;
using Wal.Streams.Internals;

namespace Wal.Streams;

/// <summary>
/// Declares a topology node by node, as Kafka Streams' <c>Topology</c>: sources read topics, processors transform,
/// sinks write topics, stores attach to processors. Parents must be added before their children; names and types
/// are checked as nodes are added, and <see cref="Build"/> checks the whole.
/// </summary>
public sealed class TopologyBuilder
{
    private static readonly SearchValues<char> NameCharacters = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_");

    private readonly List<NodeDefinition> _nodes = [];
    private readonly Dictionary<string, NodeDefinition> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _sourceByTopic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IStoreBuilder> _stores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _subtopologyNames = new(StringComparer.Ordinal);

    public TopologyBuilder AddSource<TKey, TValue>(string name, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer, params string[] topics)
    {
        ArgumentNullException.ThrowIfNull(keyDeserializer);
        ArgumentNullException.ThrowIfNull(valueDeserializer);
        CheckNewName(name);
        if (topics is null || topics.Length == 0)
        {
            throw new TopologyException($"Source '{name}' needs at least one topic.");
        }

        foreach (var topic in topics)
        {
            if (string.IsNullOrWhiteSpace(topic))
            {
                throw new TopologyException($"Source '{name}' names an empty topic.");
            }

            if (_sourceByTopic.TryGetValue(topic, out var other))
            {
                throw new TopologyException($"Topic '{topic}' is already read by source '{other}'; a topic can feed only one source.");
            }
        }

        foreach (var topic in topics)
        {
            _sourceByTopic[topic] = name;
        }

        Add(new SourceDefinition<TKey, TValue>(name, topics.ToArray(), keyDeserializer, valueDeserializer));
        return this;
    }

    public TopologyBuilder AddProcessor<TKeyIn, TValueIn, TKeyOut, TValueOut>(
        string name,
        Func<IProcessor<TKeyIn, TValueIn, TKeyOut, TValueOut>> supplier,
        params string[] parentNames)
    {
        ArgumentNullException.ThrowIfNull(supplier);
        CheckNewName(name);
        var definition = new ProcessorDefinition<TKeyIn, TValueIn, TKeyOut, TValueOut>(name, parentNames?.ToArray() ?? [], supplier);
        CheckParents(definition);
        Add(definition);
        return this;
    }

    public TopologyBuilder AddSink<TKey, TValue>(
        string name,
        string topic,
        ISerializer<TKey> keySerializer,
        ISerializer<TValue> valueSerializer,
        params string[] parentNames) => AddSink(name, topic, keySerializer, valueSerializer, partitioner: null, parentNames);

    public TopologyBuilder AddSink<TKey, TValue>(
        string name,
        string topic,
        ISerializer<TKey> keySerializer,
        ISerializer<TValue> valueSerializer,
        IStreamPartitioner<TKey, TValue>? partitioner,
        params string[] parentNames)
    {
        ArgumentNullException.ThrowIfNull(keySerializer);
        ArgumentNullException.ThrowIfNull(valueSerializer);
        CheckNewName(name);
        if (string.IsNullOrWhiteSpace(topic))
        {
            throw new TopologyException($"Sink '{name}' needs a topic.");
        }

        var definition = new SinkDefinition<TKey, TValue>(name, parentNames?.ToArray() ?? [], topic, keySerializer, valueSerializer, partitioner);
        CheckParents(definition);
        Add(definition);
        return this;
    }

    /// <summary>Adds a store and connects it to the named processors (which must already be added).</summary>
    public TopologyBuilder AddStateStore(IStoreBuilder builder, params string[] processorNames)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (_stores.ContainsKey(builder.Name))
        {
            throw new TopologyException($"A store named '{builder.Name}' is already added.");
        }

        var processors = new List<NodeDefinition>();
        foreach (var processorName in processorNames ?? [])
        {
            if (!_byName.TryGetValue(processorName, out var node))
            {
                throw new TopologyException($"Store '{builder.Name}' names processor '{processorName}', which is not added (add processors before their stores).");
            }

            if (node.Kind != "Processor")
            {
                throw new TopologyException($"Store '{builder.Name}' can connect only to processors; '{processorName}' is a {node.Kind.ToLowerInvariant()}.");
            }

            processors.Add(node);
        }

        _stores.Add(builder.Name, builder);
        foreach (var node in processors)
        {
            node.StoreNames.Add(builder.Name);
        }

        return this;
    }

    /// <summary>
    /// Names the sub-topology that <paramref name="nodeName"/> belongs to. Its tasks are then <c>{name}_{partition}</c>,
    /// and so are their state directories, whatever sub-topologies are added or removed around it; unnamed ones are
    /// numbered in the order their first node was added, so a sub-topology added before others renumbers them, and their
    /// tasks start on empty stores that are restored from the changelogs' beginning. Name them when a topology's set of
    /// sub-topologies changes from one run to the next.
    /// </summary>
    /// <param name="nodeName">An added node.</param>
    /// <param name="name">
    /// 1 to 200 characters of a-z, A-Z, 0-9, '.', '-' and '_', not starting with '.'. A number is also the name of the unnamed
    /// sub-topology at that position, if there is one; <see cref="Build"/> refuses two sub-topologies of one name.
    /// </param>
    public TopologyBuilder NameSubtopology(string nodeName, string name)
    {
        if (nodeName is null || !_byName.ContainsKey(nodeName))
        {
            throw new TopologyException($"Cannot name the sub-topology of node '{nodeName}', which is not added.");
        }

        if (!IsSubtopologyName(name))
        {
            throw new TopologyException($"Sub-topology name '{name}' is not valid: 1 to 200 characters of a-z, A-Z, 0-9, '.', '-' and '_', not starting with '.'.");
        }

        if (_subtopologyNames.TryGetValue(nodeName, out var other) && other != name)
        {
            throw new TopologyException($"The sub-topology of node '{nodeName}' is already named '{other}'.");
        }

        _subtopologyNames[nodeName] = name;
        return this;
    }

    /// <summary>Checks the whole topology and freezes it.</summary>
    /// <exception cref="TopologyException">No source, a store connected to no processor, or a processor with no path from a source.</exception>
    public Topology Build()
    {
        if (!_nodes.Any(n => n.Kind == "Source"))
        {
            throw new TopologyException("A topology needs at least one source.");
        }

        var connected = _nodes.SelectMany(n => n.StoreNames).ToHashSet(StringComparer.Ordinal);
        foreach (var store in _stores.Keys.Where(s => !connected.Contains(s)))
        {
            throw new TopologyException($"Store '{store}' is connected to no processor.");
        }

        return new Topology(SubtopologyPlanner.Plan(_nodes, _stores, _subtopologyNames));
    }

    /// <summary>Whether <paramref name="name"/> can name a sub-topology in a task id and a directory: given, or a number.</summary>
    internal static bool IsSubtopologyName(string? name) =>
        name is { Length: > 0 and <= 200 } && name[0] != '.' && !name.AsSpan().ContainsAnyExcept(NameCharacters);

    private void Add(NodeDefinition definition)
    {
        _nodes.Add(definition);
        _byName.Add(definition.Name, definition);
    }

    private void CheckNewName(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new TopologyException("A node needs a non-empty name.");
        }

        if (_byName.ContainsKey(name))
        {
            throw new TopologyException($"A node named '{name}' is already added.");
        }
    }

    private void CheckParents(NodeDefinition child)
    {
        if (child.Parents.Count == 0)
        {
            throw new TopologyException($"{child.Kind} '{child.Name}' needs at least one parent.");
        }

        if (child.Parents.Distinct(StringComparer.Ordinal).Count() != child.Parents.Count)
        {
            throw new TopologyException($"{child.Kind} '{child.Name}' names a parent twice.");
        }

        foreach (var parentName in child.Parents)
        {
            if (!_byName.TryGetValue(parentName, out var parent))
            {
                throw new TopologyException($"{child.Kind} '{child.Name}' names parent '{parentName}', which is not added yet.");
            }

            if (parent.Output is not { } output)
            {
                throw new TopologyException($"{child.Kind} '{child.Name}' names sink '{parentName}' as its parent; sinks have no children.");
            }

            var input = child.Input!.Value;
            if (output != input)
            {
                throw new TopologyException(
                    $"{child.Kind} '{child.Name}' takes Record<{input.Key.Name}, {input.Value.Name}> but parent '{parentName}' forwards Record<{output.Key.Name}, {output.Value.Name}>.");
            }
        }
    }
}
