namespace Wal.Sinks.Memcached;

/// <summary>The answer to one <see cref="PipelinedSet"/>: a store result, or the server's error for that item alone.</summary>
internal readonly record struct PipelinedSetResult(MemcachedStoreResult Result, MemcachedServerErrorException? ServerError);
