namespace Wal.Kafka;

/// <summary>A topic Wal needs: its name, partitions, and whether it is compacted (keeps the latest value per key).</summary>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted = false, int ReplicationFactor = 1);
