using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wal.Ingress.Tests;

/// <summary>
/// A private CA, a server certificate for 127.0.0.1 and client certificates, made in-process and written as PEM files. The
/// server's certificate comes from an intermediate CA, as in most deployments, so server.pem holds it and the intermediate,
/// and a client that trusts only the root (ca.pem) needs the intermediate from the handshake.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly X509Certificate2 _ca;
    private readonly RSA _caKey;
    private readonly X509Certificate2 _intermediate;
    private readonly RSA _intermediateKey;

    public TestCertificates()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"wal-tls-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        (_ca, _caKey) = NewAuthority("Wal Test CA");
        File.WriteAllText(CaPath, _ca.ExportCertificatePem());
        (_intermediate, _intermediateKey) = NewAuthority("Wal Test Intermediate CA", _ca, _caKey);
        using var server = Sign(_intermediate, _intermediateKey, "ingress", serverAuth: true);
        File.WriteAllText(ServerCertificatePath, server.ExportCertificatePem() + "\n" + _intermediate.ExportCertificatePem());
        File.WriteAllText(ServerKeyPath, server.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    public string Directory { get; }

    public string CaPath => Path.Combine(Directory, "ca.pem");

    public string ServerCertificatePath => Path.Combine(Directory, "server.pem");

    public string ServerKeyPath => Path.Combine(Directory, "server.key");

    /// <summary>A client certificate signed by this CA, named <paramref name="commonName"/>.</summary>
    public X509Certificate2 Client(string commonName) => Issue(commonName, serverAuth: false);

    /// <summary>A client certificate like <see cref="Client"/>, written as PEM files for a foreign client; returns their paths.</summary>
    public (string CertificatePath, string KeyPath) ClientFiles(string commonName)
    {
        using var client = Client(commonName);
        var (certificate, key) = (Path.Combine(Directory, $"{commonName}.pem"), Path.Combine(Directory, $"{commonName}.key"));
        File.WriteAllText(certificate, client.ExportCertificatePem());
        File.WriteAllText(key, client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (certificate, key);
    }

    /// <summary>
    /// A client certificate like <see cref="ClientFiles"/>, but from the intermediate CA: its PEM file holds it and then the
    /// intermediate, as a PKI hands out a certificate with its chain, and a server that trusts only the root needs both.
    /// </summary>
    public (string CertificatePath, string KeyPath) ClientFilesFromIntermediate(string commonName)
    {
        using var client = Sign(_intermediate, _intermediateKey, commonName, serverAuth: false);
        var (certificate, key) = (Path.Combine(Directory, $"{commonName}-chain.pem"), Path.Combine(Directory, $"{commonName}-chain.key"));
        File.WriteAllText(certificate, client.ExportCertificatePem() + "\n" + _intermediate.ExportCertificatePem());
        File.WriteAllText(key, client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (certificate, key);
    }

    /// <summary>
    /// A client certificate signed by this CA with exactly <paramref name="subject"/> as its subject and, when given,
    /// <paramref name="san"/> as its subject alternative names: for certificates without a CN or DNS name.
    /// </summary>
    public X509Certificate2 ClientWithSubject(string subject, Action<SubjectAlternativeNameBuilder>? san = null)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (san is not null)
        {
            var names = new SubjectAlternativeNameBuilder();
            san(names);
            request.CertificateExtensions.Add(names.Build());
        }

        using var signed = request.Create(_ca.SubjectName, X509SignatureGenerator.CreateForRSA(_caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(12));
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A certificate signed by this CA for servers only (extended key usage serverAuth), named <paramref name="commonName"/>.</summary>
    public X509Certificate2 ServerOnly(string commonName) => Issue(commonName, serverAuth: true);

    /// <summary>A client certificate from another CA that the ingress does not trust.</summary>
    public static X509Certificate2 Rogue(string commonName)
    {
        var (ca, key) = NewAuthority("Rogue CA");
        using (ca)
        using (key)
        {
            return Sign(ca, key, commonName, serverAuth: false);
        }
    }

    /// <summary>An h2 client over TLS that trusts this CA and presents <paramref name="client"/> if given.</summary>
    public SocketsHttpHandler Handler(X509Certificate2? client) => new()
    {
        SslOptions =
        {
            ClientCertificates = client is null ? null : new X509CertificateCollection { client },
            RemoteCertificateValidationCallback = (_, certificate, sent, _) =>
            {
                using var chain = new X509Chain();
                // Only what the server sent besides its own certificate: the intermediate must come from the handshake.
                chain.ChainPolicy.ExtraStore.AddRange(sent?.ChainPolicy.ExtraStore ?? []);
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(_ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is X509Certificate2 c && chain.Build(c);
            },
        },
    };

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
        _intermediate.Dispose();
        _intermediateKey.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private X509Certificate2 Issue(string commonName, bool serverAuth) => Sign(_ca, _caKey, commonName, serverAuth);

    /// <summary>A self-signed root, or with <paramref name="issuer"/> an intermediate CA it signs.</summary>
    private static (X509Certificate2, RSA) NewAuthority(string name, X509Certificate2? issuer = null, RSA? issuerKey = null)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var (notBefore, notAfter) = (DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        if (issuer is null)
        {
            return (request.CreateSelfSigned(notBefore, notAfter), key);
        }

        using var signed = request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForRSA(issuerKey!, RSASignaturePadding.Pkcs1),
            notBefore, notAfter, RandomNumberGenerator.GetBytes(12));
        return (signed.CopyWithPrivateKey(key), key);
    }

    private static X509Certificate2 Sign(X509Certificate2 ca, RSA caKey, string commonName, bool serverAuth)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [serverAuth ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(serverAuth ? "localhost" : commonName);
        if (serverAuth)
        {
            san.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(12);
        using var signed = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return signed.CopyWithPrivateKey(key);
    }
}
