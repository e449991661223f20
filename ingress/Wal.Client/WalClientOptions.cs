namespace Wal.Client;

/// <summary>Where the ingress is and how long a call may take.</summary>
public sealed record WalClientOptions
{
    /// <summary>The ingress address, e.g. http://127.0.0.1:50051 (h2c) or https://wal.example:443.</summary>
    public required Uri Address { get; init; }

    /// <summary>Deadline of each call, sent as <c>grpc-timeout</c> so the server stops waiting too.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Attempts for a call that never reached the server (connection refused). Such a retry is always
    /// safe; a call that reached the server is never retried by the client.
    /// </summary>
    public int ConnectAttempts { get; init; } = 3;

    /// <summary>Client certificate for mutual TLS, if the ingress asks for one.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get; init; }

    public void Validate()
    {
        if (!Address.IsAbsoluteUri || Address.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"Address '{Address}' must be an absolute http:// or https:// URI.", nameof(Address));
        }

        if (Deadline <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Deadline {Deadline} must be positive.", nameof(Deadline));
        }

        if (ConnectAttempts < 1)
        {
            throw new ArgumentException($"ConnectAttempts {ConnectAttempts} must be at least 1.", nameof(ConnectAttempts));
        }
    }
}
