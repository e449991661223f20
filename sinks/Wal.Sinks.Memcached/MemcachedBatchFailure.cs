namespace Wal.Sinks.Memcached;

/// <summary>One item of a quiet batch that was not stored.</summary>
/// <param name="Index">Its index in the batch, or -1 when the server did not say which item failed.</param>
/// <param name="Reason">The server's answer.</param>
public sealed record MemcachedBatchFailure(int Index, string Reason);
