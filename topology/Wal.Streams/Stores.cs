using Wal.Streams.State;

namespace Wal.Streams;

/// <summary>Factory of store builders, as Kafka Streams' <c>Stores</c>.</summary>
public static class Stores
{
    /// <summary>A RocksDB store, one per task under the task's state directory, logged to a changelog by default.</summary>
    public static IStoreBuilder PersistentKeyValueStore(string name) =>
        new KeyValueStoreBuilder(name, persistent: true, loggingEnabled: true, (n, directory) => new RocksDbKeyValueStore(n, directory));

    /// <summary>An in-memory store, logged to a changelog by default (else it starts empty after every move or restart).</summary>
    public static IStoreBuilder InMemoryKeyValueStore(string name) =>
        new KeyValueStoreBuilder(name, persistent: false, loggingEnabled: true, (n, _) => new InMemoryKeyValueStore(n));
}
