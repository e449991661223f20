using Wal.Streams.State;

namespace Wal.Streams;

/// <summary>
/// Describes a key-value store of a topology and makes the inner store of each task.
/// The runtime wraps what <see cref="Build"/> returns as Kafka Streams does: metered → change-logging (when enabled) → inner store.
/// </summary>
public interface IStoreBuilder
{
    string Name { get; }

    /// <summary>Whether writes go to the changelog topic <c>{applicationId}-{Name}-changelog</c>, from which the store is restored.</summary>
    bool LoggingEnabled { get; }

    /// <summary>Whether the inner store keeps its data on disk across restarts.</summary>
    bool Persistent { get; }

    /// <summary>A copy of this builder with the changelog on (the default).</summary>
    IStoreBuilder WithLoggingEnabled();

    /// <summary>A copy of this builder with the changelog off: the store is not restored after a move or a crash.</summary>
    IStoreBuilder WithLoggingDisabled();

    /// <summary>Makes the inner store of one task; a persistent store keeps its files under <paramref name="storeDirectory"/>.</summary>
    IKeyValueStore Build(string storeDirectory);
}
