using System.Net;

namespace Wal.Sinks.Memcached;

/// <summary>Where a <see cref="MemcachedClient"/> connects, and how many connections it keeps.</summary>
public sealed record MemcachedClientOptions
{
    /// <summary>The servers, as <c>host:port</c>. Keys are spread over them by a stable hash.</summary>
    public required IReadOnlyList<string> Servers { get; init; }

    /// <summary>Connections per server; each carries many pipelined requests.</summary>
    public int ConnectionsPerServer { get; init; } = 2;

    /// <summary>How long opening a connection may take before the request fails as retriable.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// With requests outstanding, a server that has answered nothing for this long is taken for hung (a stopped
    /// process, a black-holed path): the next caller to give up waiting closes the connection, which fails what it
    /// held, and the next request opens a new one. Left open, every abandoned request kept its value in memory for
    /// as long as the server stayed hung.
    /// </summary>
    public TimeSpan UnresponsiveAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        if (Servers is null || Servers.Count == 0)
        {
            throw new ArgumentException("MemcachedClientOptions.Servers is empty: give at least one host:port.");
        }

        foreach (var server in Servers)
        {
            _ = ParseEndPoint(server);
        }

        if (ConnectionsPerServer is < 1 or > 64)
        {
            throw new ArgumentException($"MemcachedClientOptions.ConnectionsPerServer is {ConnectionsPerServer}; it must be 1 to 64.");
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MemcachedClientOptions.ConnectTimeout is {ConnectTimeout}; it must be positive.");
        }

        if (UnresponsiveAfter <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MemcachedClientOptions.UnresponsiveAfter is {UnresponsiveAfter}; it must be positive.");
        }
    }

    internal static EndPoint ParseEndPoint(string server)
    {
        var colon = server?.LastIndexOf(':') ?? -1;
        if (server is null || colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"The memcached server '{server}' is not host:port.");
        }

        var host = server[..colon].Trim('[', ']');
        return IPAddress.TryParse(host, out var address) ? new IPEndPoint(address, port) : new DnsEndPoint(host, port);
    }
}
