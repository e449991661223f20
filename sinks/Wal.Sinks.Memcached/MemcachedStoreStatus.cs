namespace Wal.Sinks.Memcached;

/// <summary>The answer to a set or delete.</summary>
public enum MemcachedStoreStatus
{
    /// <summary><c>HD</c>: done.</summary>
    Stored,

    /// <summary><c>NS</c>: the mode's condition failed (add on an existing key, replace on a missing one).</summary>
    NotStored,

    /// <summary><c>EX</c>: the item changed since the CAS token was read.</summary>
    Exists,

    /// <summary><c>NF</c>: the item does not exist (compare-and-set or delete).</summary>
    NotFound,
}
