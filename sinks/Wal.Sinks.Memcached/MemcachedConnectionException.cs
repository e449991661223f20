namespace Wal.Sinks.Memcached;

/// <summary>
/// The connection could not be made, dropped, or lost track of its responses. The request may or
/// may not have been applied; the next request opens a new connection, so a retry can succeed.
/// </summary>
public sealed class MemcachedConnectionException : MemcachedException
{
    public MemcachedConnectionException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
