namespace Wal.Sinks.Memcached;

/// <summary>The outcome of a set or delete, and the item's new CAS token when it was stored.</summary>
public readonly record struct MemcachedStoreResult(MemcachedStoreStatus Status, ulong Cas);
