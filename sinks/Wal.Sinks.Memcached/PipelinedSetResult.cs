namespace Wal.Sinks.Memcached;

/// <summary>
/// The answer to one <see cref="PipelinedSet"/>: a store result, or the error of that item alone (the server's, or a
/// <see cref="MemcachedItemTooLargeException"/> for an item not sent).
/// </summary>
internal readonly record struct PipelinedSetResult(MemcachedStoreResult Result, MemcachedException? Error);
