namespace Wal.Sinks.Memcached;

/// <summary>
/// A write was not sent: its item is above the item size limit the server reported when the connection opened
/// (<c>item_size_max</c> of <c>stats settings</c>, memcached's <c>-I</c>). It can never be stored there, so retrying
/// cannot help. Sent, memcached would answer <c>SERVER_ERROR object too large for cache</c> and also drop the key's
/// stored item.
/// </summary>
public sealed class MemcachedItemTooLargeException : MemcachedException
{
    public MemcachedItemTooLargeException(string message)
        : base(message)
    {
    }
}
