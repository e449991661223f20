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

    /// <summary>
    /// The client's connection generation by which <see cref="CompareCas"/> was known: the write must not go out on a
    /// connection opened after it (that may be a restarted server, which counts CAS tokens from 1 again, where the token
    /// can match an unrelated item). Such a write throws <see cref="MemcachedConnectionReplacedException"/> unsent.
    /// </summary>
    internal long? CasKnownAtGeneration { get; init; }

    public MemcachedSetMode Mode { get; init; }
}
