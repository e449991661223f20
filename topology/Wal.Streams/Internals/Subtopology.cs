namespace Wal.Streams.Internals;

/// <summary>
/// A connected part of a topology (nodes linked by parent edges or a shared store). Its source topics are
/// co-partitioned: partition p of every one of them belongs to the same task (Name, p).
/// </summary>
/// <param name="Id">Its position in the topology.</param>
/// <param name="Name">What its task ids say: the name the topology gave it, or else <paramref name="Id"/> in decimal.</param>
/// <param name="Nodes">Its nodes, in the order added.</param>
/// <param name="SourceTopics">The topics its sources read.</param>
/// <param name="Stores">Its stores.</param>
internal sealed record Subtopology(int Id, string Name, IReadOnlyList<NodeDefinition> Nodes, IReadOnlyList<string> SourceTopics, IReadOnlyList<IStoreBuilder> Stores);
