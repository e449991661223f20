using System.Security.Cryptography.X509Certificates;

namespace Wal.Cli.Tests.Tls;

/// <summary>config/tls/make-certs.sh run again over what it made: what it keeps, and what it issues again.</summary>
public sealed class MakeCertsScriptTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"wal-make-certs-{Guid.NewGuid():N}");

    private string Certs => Path.Combine(_root, "certs");

    private string Keys => Path.Combine(_root, "ca");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // A year after `docker compose up`, the demo's certificates expired and the script kept them: every TLS call failed.
    [Fact]
    public void CertificatesExpiringWithin30Days_IssuedAgainUnderTheSameCa()
    {
        ComposeCertificates.Run(Certs, Keys, days: 10);
        var ca = File.ReadAllBytes(Path.Combine(Certs, "ca.pem"));
        using (var shortLived = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Certs, "server.pem"))))
        {
            Assert.True(shortLived.NotAfter < DateTime.Now.AddDays(11), $"WAL_TLS_DAYS=10 made a certificate valid until {shortLived.NotAfter:u}");
        }

        ComposeCertificates.Run(Certs, Keys);

        Assert.Equal(ca, File.ReadAllBytes(Path.Combine(Certs, "ca.pem")));
        foreach (var name in new[] { "server.pem", "client.pem" })
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Certs, name)));
            Assert.True(certificate.NotAfter > DateTime.Now.AddDays(300), $"{name} still expires {certificate.NotAfter:u}");
            Assert.True(ChainsToTheCa(certificate), $"{name} does not chain to ca.pem");
        }
    }

    [Fact]
    public void CertificatesThatLast_KeptAsTheyAre()
    {
        ComposeCertificates.Run(Certs, Keys);
        var before = Directory.GetFiles(Certs).Order().Select(File.ReadAllBytes).ToList();

        ComposeCertificates.Run(Certs, Keys);

        Assert.Equal(before, Directory.GetFiles(Certs).Order().Select(File.ReadAllBytes).ToList());
    }

    [Fact]
    public void CaKeyGone_NewCaAndCertificatesItIssued()
    {
        ComposeCertificates.Run(Certs, Keys);
        var ca = File.ReadAllBytes(Path.Combine(Certs, "ca.pem"));
        File.Delete(Path.Combine(Keys, "ca.key"));

        var output = ComposeCertificates.Run(Certs, Keys);

        Assert.NotEqual(ca, File.ReadAllBytes(Path.Combine(Certs, "ca.pem")));
        Assert.Contains("clients must trust it", output, StringComparison.Ordinal);
        using var server = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Certs, "server.pem")));
        Assert.True(ChainsToTheCa(server), "server.pem does not chain to the new ca.pem");
    }

    // docker-compose mounts the certificates' directory into the ingresses: the key that issues certificates they trust
    // must not be in it.
    [Fact]
    public void KeyDirectoryGiven_CaKeyOnlyThere_AndAnEarlierRunsKeyMovedThere()
    {
        ComposeCertificates.Run(Certs);
        Assert.True(File.Exists(Path.Combine(Certs, "ca.key")), "the one-directory run kept no CA key beside the certificates");
        var ca = File.ReadAllBytes(Path.Combine(Certs, "ca.pem"));

        ComposeCertificates.Run(Certs, Keys);

        Assert.DoesNotContain(Directory.GetFiles(Certs), f => Path.GetFileName(f).StartsWith("ca.", StringComparison.Ordinal) && f.EndsWith(".key", StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.GetFiles(Certs), f => f.EndsWith(".srl", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(Keys, "ca.key")));
        Assert.Equal(ca, File.ReadAllBytes(Path.Combine(Certs, "ca.pem")));
    }

    private bool ChainsToTheCa(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Certs, "ca.pem"))));
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
