namespace Wal.Sinks.Memcached;

/// <summary>How one <c>ms</c> is done.</summary>
public sealed record MemcachedSetOptions
{
    public static MemcachedSetOptions Default { get; } = new();

    /// <summary>Time to live; zero means no expiry.</summary>
    public TimeSpan Ttl { get; init; }

    /// <summary>Opaque flags stored with the item.</summary>
    public uint ClientFlags { get; init; }

    /// <summary>When non-zero, store only if the item's CAS token still equals this one.</summary>
    public ulong CompareCas { get; init; }

    public MemcachedSetMode Mode { get; init; }
}
