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

        if (WrittenVersionCacheSlots < 0)
        {
            throw new ArgumentException($"MemcachedSinkOptions.WrittenVersionCacheSlots is {WrittenVersionCacheSlots}; it must not be negative.");
        }

        if (MaxCasAttempts < 1)
        {
            throw new ArgumentException($"MemcachedSinkOptions.MaxCasAttempts is {MaxCasAttempts}; it must be at least 1.");
        }
    }
}
