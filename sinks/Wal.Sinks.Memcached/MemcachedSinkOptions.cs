namespace Wal.Sinks.Memcached;

/// <summary>Settings of <see cref="MemcachedSink"/>, validated when the sink is built.</summary>
public sealed record MemcachedSinkOptions
{
    /// <summary>Logical cluster name (the target's <c>cluster</c>) to its servers.</summary>
    public required IReadOnlyDictionary<string, MemcachedClusterOptions> Clusters { get; init; }

    /// <summary>Deadline for one delivery (all its round trips); past it the delivery is retriable.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a delete's tombstone lives when the target gives no TTL. It must outlive any
    /// redelivery of an older version, which would otherwise bring the value back.
    /// </summary>
    public TimeSpan TombstoneTtl { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Read-compare-write rounds before a key under contention is reported as retriable.</summary>
    public int MaxCasAttempts { get; init; } = 8;

    /// <summary>
    /// Slots of the cache of versions this sink wrote, which lets a rewrite of a recently written
    /// key skip its read; zero turns the cache off. About 40 bytes per remembered key; size it
    /// above the number of keys rewritten within a working period, or hits fall off sharply.
    /// </summary>
    public int WrittenVersionCacheSlots { get; init; } = 262_144;

    /// <summary>
    /// The servers' item size limit (memcached's <c>-I</c>, <c>item_size_max</c>; 1 MiB by default). A write whose
    /// item would exceed it is refused here, as a permanent failure, before anything is sent: memcached answers
    /// <c>SERVER_ERROR object too large for cache</c> to such a write and also drops the key's stored item, which
    /// would take a newer version (or a tombstone) with it and let an older redelivery back in. A server run with a
    /// smaller limit is not trusted to this one: each connection reads the server's own <c>item_size_max</c> when it
    /// opens, and a write above that is refused unsent too (<see cref="MemcachedItemTooLargeException"/>).
    /// </summary>
    public int MaxItemBytes { get; init; } = 1024 * 1024;

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        if (Clusters is null || Clusters.Count == 0)
        {
            throw new ArgumentException("MemcachedSinkOptions.Clusters is empty: name at least one cluster and its servers.");
        }

        foreach (var (name, cluster) in Clusters)
        {
            try
            {
                cluster.ToClientOptions().Validate();
            }
            catch (ArgumentException error)
            {
                throw new ArgumentException($"MemcachedSinkOptions.Clusters['{name}']: {error.Message}", error);
            }
        }

        if (OperationTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MemcachedSinkOptions.OperationTimeout is {OperationTimeout}; it must be positive.");
        }

        if (TombstoneTtl <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MemcachedSinkOptions.TombstoneTtl is {TombstoneTtl}; it must be positive.");
        }

        if (MaxItemBytes <= ItemOverheadBytes)
        {
            throw new ArgumentException($"MemcachedSinkOptions.MaxItemBytes is {MaxItemBytes}; it must be above {ItemOverheadBytes}.");
        }

        if (WrittenVersionCacheSlots < 0)
        {
            throw new ArgumentException($"MemcachedSinkOptions.WrittenVersionCacheSlots is {WrittenVersionCacheSlots}; it must not be negative.");
        }

        if (MaxCasAttempts < 1)
        {
            throw new ArgumentException($"MemcachedSinkOptions.MaxCasAttempts is {MaxCasAttempts}; it must be at least 1.");
        }
    }

    /// <summary>What memcached adds to key and value in an item; an item is refused when key + value + this exceed <see cref="MaxItemBytes"/>.</summary>
    internal const int ItemOverheadBytes = ItemSize.OverheadBytes;
}
