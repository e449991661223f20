namespace Wal.Sinks.Memcached;

/// <summary>
/// A compare-and-set was not sent: the connection it would go out on was opened after its CAS token was known, so the
/// server may have restarted and the token may name another item. Read the item again and compare.
/// </summary>
public sealed class MemcachedConnectionReplacedException : MemcachedException
{
    public MemcachedConnectionReplacedException(string message)
        : base(message, null)
    {
    }
}
