namespace Wal.Sinks.Memcached;

/// <summary>An item read from memcached.</summary>
/// <param name="Value">Its bytes.</param>
/// <param name="ClientFlags">The opaque 32-bit flags stored with it.</param>
/// <param name="Cas">Its compare-and-set token, for a conditional write.</param>
public sealed record MemcachedItem(byte[] Value, uint ClientFlags, ulong Cas);
