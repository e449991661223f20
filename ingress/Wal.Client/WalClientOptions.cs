using System.Security.Cryptography.X509Certificates;

namespace Wal.Client;

/// <summary>Where the ingress is and how long a call may take.</summary>
public sealed record WalClientOptions
{
    /// <summary>The ingress address, e.g. http://127.0.0.1:50051 (h2c) or https://wal.example:443.</summary>
    public required Uri Address { get; init; }

    /// <summary>
    /// Deadline of each unary call, sent as <c>grpc-timeout</c> so the server stops waiting too. A
    /// <see cref="WalWriteStream"/> lives as long as its caller wants: its waits are bounded by the tokens given to
    /// <see cref="WalWriteStream.WriteAsync"/> and <see cref="WalWriteStream.CompleteAsync"/>, and a dead connection
    /// under it by <see cref="KeepAlivePingDelay"/>.
    /// </summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a connection with a call open may stay silent before the client sends an HTTP/2 PING; without an
    /// answer within as long again, the connection is dropped and its calls end (a stream's unanswered writes
    /// answer as its end decides). Catches a peer or path that vanished without closing, which no read would notice.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Attempts for a call whose message never began to go out (connection refused, reset or closed
    /// before the request was sent). Such a retry is always safe; a call whose message began to go
    /// out is never retried by the client.
    /// </summary>
    public int ConnectAttempts { get; init; } = 3;

    /// <summary>
    /// Attempts for a unary call the ingress shed (RESOURCE_EXHAUSTED) saying when to come back
    /// (<c>grpc-retry-pushback-ms</c>, e.g. the wait for its namespace's next rate token): the client waits that long
    /// and sends the call again, while the wait ends inside <see cref="Deadline"/>. Safe: a shed write was not
    /// written. A refusal that says nothing of when, or never, is answered at once. 1: no such retry. A
    /// <see cref="WalWriteStream"/> write shed so goes out again as such a unary call, its attempt on the stream counted as
    /// the first: at most this many attempts in all.
    /// </summary>
    public int ShedAttempts { get; init; } = 3;

    /// <summary>
    /// Writes a <see cref="WalWriteStream"/> holds awaiting their answers; a further write waits
    /// for room. The ingress has its own bound per stream (1,000 by default).
    /// </summary>
    public int MaxStreamInFlight { get; init; } = 1000;

    /// <summary>Client certificate for mutual TLS, if the ingress asks for one.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>
    /// The intermediate CAs between <see cref="ClientCertificate"/> and the root the ingress trusts, sent with it in the
    /// handshake: an ingress that holds only the root cannot verify the certificate without them.
    /// </summary>
    public X509Certificate2Collection? ClientCertificateChain { get; init; }

    /// <summary>
    /// Private CA(s) the ingress's certificate must chain to, instead of the machine's trust store
    /// (e.g. the CA a deployment made for itself). The host name is checked either way, and so is the certificate's
    /// purpose: its extended key usage must include serverAuth (or be absent), so a client certificate the same CA
    /// issued does not pass for the ingress.
    /// </summary>
    public X509Certificate2Collection? ServerCertificateAuthorities { get; init; }

    /// <summary>Options for <paramref name="address"/> with TLS material read from PEM files; a null or empty path is left out.</summary>
    /// <param name="address">The ingress.</param>
    /// <param name="certificatePath">Client certificate (PEM) for mutual TLS; needs <paramref name="keyPath"/>.</param>
    /// <param name="keyPath">The client certificate's private key (PEM).</param>
    /// <param name="authorityPath">CA certificate(s) (PEM) the server's certificate must chain to.</param>
    public static WalClientOptions FromPemFiles(Uri address, string? certificatePath, string? keyPath, string? authorityPath)
    {
        if (string.IsNullOrEmpty(certificatePath) != string.IsNullOrEmpty(keyPath))
        {
            throw new ArgumentException("A client certificate needs its key, and a key its certificate: give both or neither.", nameof(keyPath));
        }

        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrEmpty(authorityPath))
        {
            authorities = [];
            authorities.ImportFromPemFile(authorityPath);
            // A file with no CERTIFICATE block (the CA's key, a DER file) imports nothing, without an error.
            if (authorities.Count == 0)
            {
                throw new ArgumentException($"CA file '{authorityPath}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).", nameof(authorityPath));
            }
        }

        // The file's first certificate is the client's; any after it are its intermediates, as a PKI hands them out.
        X509Certificate2Collection? chain = null;
        if (!string.IsNullOrEmpty(certificatePath))
        {
            chain = [];
            chain.ImportFromPemFile(certificatePath);
        }

        return new WalClientOptions
        {
            Address = address,
            ClientCertificate = string.IsNullOrEmpty(certificatePath) ? null : X509Certificate2.CreateFromPemFile(certificatePath, keyPath),
            ClientCertificateChain = chain is { Count: > 1 } ? [.. chain.Skip(1)] : null,
            ServerCertificateAuthorities = authorities,
        };
    }

    public void Validate()
    {
        if (!Address.IsAbsoluteUri || Address.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"Address '{Address}' must be an absolute http:// or https:// URI.", nameof(Address));
        }

        // Without TLS the client certificate is never presented and the CA never asked: the caller asked for TLS and
        // would get cleartext, and find out only when an allow-list refuses it, if ever.
        if (Address.Scheme == "http" && (ClientCertificate is not null || ServerCertificateAuthorities is not null))
        {
            throw new ArgumentException($"Address '{Address}' is http:// (cleartext), but a client certificate or CA is set: use https:// for TLS.", nameof(Address));
        }

        // An empty collection would leave the machine's trust store to decide, which the option exists to replace.
        if (ServerCertificateAuthorities is { Count: 0 })
        {
            throw new ArgumentException("ServerCertificateAuthorities holds no certificate: set at least one CA, or leave it null for the machine's trust store.", nameof(ServerCertificateAuthorities));
        }

        // A timer holds at most 2^32 - 2 ms (about 49.7 days); the call's deadline is one.
        if (Deadline <= TimeSpan.Zero || Deadline > TimeSpan.FromDays(49))
        {
            throw new ArgumentException($"Deadline {Deadline} must be positive and at most 49 days.", nameof(Deadline));
        }

        if (KeepAlivePingDelay < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"KeepAlivePingDelay {KeepAlivePingDelay} must be at least 1 s.", nameof(KeepAlivePingDelay));
        }

        if (ConnectAttempts < 1)
        {
            throw new ArgumentException($"ConnectAttempts {ConnectAttempts} must be at least 1.", nameof(ConnectAttempts));
        }

        if (ShedAttempts < 1)
        {
            throw new ArgumentException($"ShedAttempts {ShedAttempts} must be at least 1.", nameof(ShedAttempts));
        }

        if (MaxStreamInFlight < 1)
        {
            throw new ArgumentException($"MaxStreamInFlight {MaxStreamInFlight} must be at least 1.", nameof(MaxStreamInFlight));
        }
    }
}
