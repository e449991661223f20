namespace Wal.Sinks.Memcached;

/// <summary>One logical memcached (EVCache) cluster: its servers and connection settings.</summary>
public sealed record MemcachedClusterOptions
{
    /// <summary>The cluster's servers, as <c>host:port</c>.</summary>
    public required IReadOnlyList<string> Servers { get; init; }

    /// <summary>Pipelined connections kept per server.</summary>
    public int ConnectionsPerServer { get; init; } = 2;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    internal MemcachedClientOptions ToClientOptions() =>
        new() { Servers = Servers, ConnectionsPerServer = ConnectionsPerServer, ConnectTimeout = ConnectTimeout };
}
