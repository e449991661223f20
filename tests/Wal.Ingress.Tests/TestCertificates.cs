using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wal.Ingress.Tests;

/// <summary>A private CA, a server certificate for 127.0.0.1 and client certificates, made in-process and written as PEM files.</summary>
public sealed class TestCertificates : IDisposable
{
    private readonly X509Certificate2 _ca;
    private readonly RSA _caKey;

    public TestCertificates()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"wal-tls-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        (_ca, _caKey) = NewAuthority("Wal Test CA");
        File.WriteAllText(CaPath, _ca.ExportCertificatePem());
        using var server = Issue("ingress", serverAuth: true);
        File.WriteAllText(ServerCertificatePath, server.ExportCertificatePem());
        File.WriteAllText(ServerKeyPath, server.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    public string Directory { get; }

    public string CaPath => Path.Combine(Directory, "ca.pem");

    public string ServerCertificatePath => Path.Combine(Directory, "server.pem");

    public string ServerKeyPath => Path.Combine(Directory, "server.key");

    /// <summary>A client certificate signed by this CA, named <paramref name="commonName"/>.</summary>
    public X509Certificate2 Client(string commonName) => Issue(commonName, serverAuth: false);

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
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
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
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private X509Certificate2 Issue(string commonName, bool serverAuth) => Sign(_ca, _caKey, commonName, serverAuth);

    private static (X509Certificate2, RSA) NewAuthority(string name)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return (request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30)), key);
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
