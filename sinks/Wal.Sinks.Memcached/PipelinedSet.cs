namespace Wal.Sinks.Memcached;

/// <summary>One <c>ms</c> of <see cref="MemcachedClient.SetInOrderAsync"/>: a key already checked and encoded by <see cref="MemcachedKey.Encode"/>.</summary>
internal readonly record struct PipelinedSet(byte[] Key, ReadOnlyMemory<byte> Value, MemcachedSetOptions Options);
