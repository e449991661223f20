using Confluent.Kafka;
using Wal.Streams.State;

namespace Wal.Streams.Internals;

/// <summary>One store of a task: its builder, the inner store that restoring writes to, and its changelog partition.</summary>
internal sealed class StoreEntry(IStoreBuilder builder, string directory, TopicPartition? changelog)
{
    public IStoreBuilder Builder { get; } = builder;

    public string Directory { get; } = directory;

    public TopicPartition? Changelog { get; } = changelog;

    public IKeyValueStore Inner { get; set; } = null!;

    /// <summary>Where restoring starts: the checkpointed offset, or null for the changelog's beginning.</summary>
    public long? RestoreFrom { get; set; }

    /// <summary>The next changelog offset known to be in the store (restore position, or last acknowledged write + 1).</summary>
    public long Position { get; set; }
}
