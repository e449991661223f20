using System.Text;
using Wal.Streams.Internals;

namespace Wal.Streams;

/// <summary>A checked, frozen topology made by <see cref="TopologyBuilder.Build"/>; run it with <see cref="KafkaStreams"/> or a test driver.</summary>
public sealed class Topology
{
    private readonly Dictionary<string, Subtopology> _byName;

    internal Topology(IReadOnlyList<Subtopology> subtopologies)
    {
        Subtopologies = subtopologies;
        _byName = subtopologies.ToDictionary(s => s.Name, StringComparer.Ordinal);
        SourceTopics = subtopologies.SelectMany(s => s.SourceTopics).ToArray();
        StoreNames = subtopologies.SelectMany(s => s.Stores).Select(s => s.Name).ToArray();
    }

    /// <summary>Every topic a source reads.</summary>
    public IReadOnlyList<string> SourceTopics { get; }

    /// <summary>Every store of the topology.</summary>
    public IReadOnlyList<string> StoreNames { get; }

    internal IReadOnlyList<Subtopology> Subtopologies { get; }

    /// <summary>The sub-topologies with their nodes, children and stores, in a form close to Kafka Streams' <c>describe()</c>.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine("Topologies:");
        foreach (var sub in Subtopologies)
        {
            text.Append("   Sub-topology: ").Append(sub.Name).AppendLine();
            foreach (var node in sub.Nodes)
            {
                var children = sub.Nodes.Where(n => n.Parents.Contains(node.Name)).Select(n => n.Name);
                text.Append("    ").Append(node.Describe()).AppendLine();
                text.Append("      --> ").AppendLine(string.Join(", ", children.DefaultIfEmpty("none")));
                text.Append("      <-- ").AppendLine(string.Join(", ", node.Parents.DefaultIfEmpty("none")));
            }
        }

        return text.ToString();
    }

    public override string ToString() => Describe();

    /// <summary>The sub-topology a task id names, or null.</summary>
    internal Subtopology? SubtopologyNamed(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The sub-topology that reads <paramref name="topic"/>, or null.</summary>
    internal Subtopology? SubtopologyOf(string topic) => Subtopologies.FirstOrDefault(s => s.SourceTopics.Contains(topic));
}
