namespace Wal.Streams.Internals;

/// <summary>
/// A connected part of a topology (nodes linked by parent edges or a shared store). Its source topics are
/// co-partitioned: partition p of every one of them belongs to the same task (Id, p).
/// </summary>
internal sealed record Subtopology(int Id, IReadOnlyList<NodeDefinition> Nodes, IReadOnlyList<string> SourceTopics, IReadOnlyList<IStoreBuilder> Stores);
