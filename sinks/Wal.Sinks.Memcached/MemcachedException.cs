namespace Wal.Sinks.Memcached;

/// <summary>A memcached request failed; the subclass names what can recover from it.</summary>
public abstract class MemcachedException : Exception
{
    protected MemcachedException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
