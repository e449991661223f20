namespace Wal.Sinks.Cassandra.Client;

/// <summary>How to reach and talk to one Cassandra node.</summary>
public sealed record CqlConnectionOptions(string Host, int Port)
{
    /// <summary>The CQL native port.</summary>
    public const int DefaultPort = 9042;

    /// <summary>Largest number of stream ids a v4 connection can have in flight.</summary>
    public const int MaxStreams = 32768;

    /// <summary>For PasswordAuthenticator (SASL PLAIN); null when the cluster needs no authentication.</summary>
    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>How long connecting may take: the TCP connect, then each handshake request (STARTUP, authentication).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one request may wait for its response, including the wait for a free stream id.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>Requests in flight on the connection at once (stream ids in use), 1..32768.</summary>
    public int MaxConcurrentRequests { get; init; } = 1024;

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
        {
            throw new ArgumentException("Cassandra host must not be empty.", nameof(Host));
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "Cassandra port must be in 1..65535.");
        }

        if (ConnectTimeout <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), $"Timeouts must be positive; got connect {ConnectTimeout}, request {RequestTimeout}.");
        }

        if (MaxConcurrentRequests is < 1 or > MaxStreams)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), MaxConcurrentRequests, $"Must be in 1..{MaxStreams}.");
        }

        if ((Username is null) != (Password is null))
        {
            throw new ArgumentException($"Give both a Cassandra user name and a password, or neither (user name '{Username}').", nameof(Username));
        }
    }
}
