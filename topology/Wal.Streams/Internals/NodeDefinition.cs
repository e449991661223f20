using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>A node as declared on the builder; <see cref="Create"/> makes a fresh instance for each task.</summary>
internal abstract class NodeDefinition(string name, IReadOnlyList<string> parents)
{
    public string Name { get; } = name;

    public IReadOnlyList<string> Parents { get; } = parents;

    public abstract string Kind { get; }

    /// <summary>The record type the node accepts; null for a source.</summary>
    public abstract (Type Key, Type Value)? Input { get; }

    /// <summary>The record type the node forwards; null for a sink.</summary>
    public abstract (Type Key, Type Value)? Output { get; }

    public List<string> StoreNames { get; } = [];

    public abstract ProcessorNode Create();

    public abstract string Describe();
}

/// <summary>The topics of a source, whatever its types.</summary>
internal interface ISourceDefinition
{
    IReadOnlyList<string> Topics { get; }
}

internal sealed class SourceDefinition<TKey, TValue>(string name, IReadOnlyList<string> topics, IDeserializer<TKey> keys, IDeserializer<TValue> values)
    : NodeDefinition(name, []), ISourceDefinition
{
    public IReadOnlyList<string> Topics { get; } = topics;

    public override string Kind => "Source";

    public override (Type Key, Type Value)? Input => null;

    public override (Type Key, Type Value)? Output => (typeof(TKey), typeof(TValue));

    public override ProcessorNode Create() => new SourceNode<TKey, TValue>(Name, keys, values);

    public override string Describe() => $"Source: {Name} (topics: [{string.Join(", ", Topics)}])";
}

internal sealed class ProcessorDefinition<TKeyIn, TValueIn, TKeyOut, TValueOut>(
    string name,
    IReadOnlyList<string> parents,
    Func<IProcessor<TKeyIn, TValueIn, TKeyOut, TValueOut>> supplier) : NodeDefinition(name, parents)
{
    public override string Kind => "Processor";

    public override (Type Key, Type Value)? Input => (typeof(TKeyIn), typeof(TValueIn));

    public override (Type Key, Type Value)? Output => (typeof(TKeyOut), typeof(TValueOut));

    public override ProcessorNode Create()
    {
        var processor = supplier() ?? throw new StreamsException($"The supplier of processor '{Name}' returned null.");
        return new ProcessorNode<TKeyIn, TValueIn, TKeyOut, TValueOut>(Name, processor);
    }

    public override string Describe() => $"Processor: {Name} (stores: [{string.Join(", ", StoreNames)}])";
}

internal sealed class SinkDefinition<TKey, TValue>(
    string name,
    IReadOnlyList<string> parents,
    string topic,
    ISerializer<TKey> keys,
    ISerializer<TValue> values,
    IStreamPartitioner<TKey, TValue>? partitioner) : NodeDefinition(name, parents)
{
    public string Topic { get; } = topic;

    public override string Kind => "Sink";

    public override (Type Key, Type Value)? Input => (typeof(TKey), typeof(TValue));

    public override (Type Key, Type Value)? Output => null;

    public override ProcessorNode Create() => new SinkNode<TKey, TValue>(Name, Topic, keys, values, partitioner);

    public override string Describe() => $"Sink: {Name} (topic: {Topic})";
}
