using System.Globalization;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>How to reach a cluster: contact points tried in turn, credentials, timeouts.</summary>
public sealed record CqlSessionOptions
{
    /// <summary>"host", "host:port" or "[ipv6]:port"; the port defaults to 9042.</summary>
    public IReadOnlyList<string> ContactPoints { get; init; } = [];

    public string? Username { get; init; }

    public string? Password { get; init; }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(12);

    public int MaxConcurrentRequests { get; init; } = 1024;

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        if (ContactPoints.Count == 0)
        {
            throw new ArgumentException("A Cassandra cluster needs at least one contact point.", nameof(ContactPoints));
        }

        foreach (var point in ContactPoints)
        {
            ForContactPoint(point).Validate();
        }
    }

    /// <summary>The connection options for one contact point.</summary>
    public CqlConnectionOptions ForContactPoint(string contactPoint)
    {
        var (host, port) = Parse(contactPoint);
        return new CqlConnectionOptions(host, port)
        {
            Username = Username,
            Password = Password,
            ConnectTimeout = ConnectTimeout,
            RequestTimeout = RequestTimeout,
            MaxConcurrentRequests = MaxConcurrentRequests,
        };
    }

    private static (string Host, int Port) Parse(string contactPoint)
    {
        var point = contactPoint.Trim();
        var colon = point.LastIndexOf(':');
        var bracketed = point.StartsWith('[');
        if (colon < 0 || (!bracketed && point.IndexOf(':') != colon) || (bracketed && colon < point.IndexOf(']')))
        {
            return (point.Trim('[', ']'), CqlConnectionOptions.DefaultPort);
        }

        return int.TryParse(point[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? (point[..colon].Trim('[', ']'), port)
            : throw new ArgumentException($"Contact point '{contactPoint}' has no valid port.", nameof(contactPoint));
    }
}
