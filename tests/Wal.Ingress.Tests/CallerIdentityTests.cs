using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wal.Ingress.Tests;

public sealed class CallerIdentityTests
{
    [Fact]
    public void IsAllowed_DnsNameInAnotherCase_Allowed()
    {
        using var certificate = SelfSigned("O=acme", san => san.AddDnsName("Writer-A.Example.COM"));

        var caller = CallerIdentity.FromCertificate(certificate);

        Assert.True(caller.IsAllowed(["writer-a.example.com"]));
    }

    [Fact]
    public void IsAllowed_AllowListEntryInAnotherCaseThanDnsName_Allowed()
    {
        using var certificate = SelfSigned("O=acme", san => san.AddDnsName("writer-a.example.com"));

        var caller = CallerIdentity.FromCertificate(certificate);

        Assert.True(caller.IsAllowed(["WRITER-A.example.com"]));
    }

    [Fact]
    public void IsAllowed_CommonNameInAnotherCase_Denied()
    {
        // A CN is an opaque name, not a DNS name: only the exact spelling on the allow-list admits it.
        using var certificate = SelfSigned("CN=Demo-Client");

        var caller = CallerIdentity.FromCertificate(certificate);

        Assert.False(caller.IsAllowed(["demo-client"]));
        Assert.True(caller.IsAllowed(["Demo-Client"]));
    }

    [Fact]
    public void IsAllowed_OtherDnsName_Denied()
    {
        using var certificate = SelfSigned("O=acme", san => san.AddDnsName("writer-b.example.com"));

        var caller = CallerIdentity.FromCertificate(certificate);

        Assert.False(caller.IsAllowed(["writer-a.example.com"]));
    }

    [Fact]
    public void IsAllowed_EntryEqualOnlyUnderUnicodeCaseFolding_Denied()
    {
        using var certificate = SelfSigned("O=acme", san => san.AddDnsName("writer.example.com"));

        var caller = CallerIdentity.FromCertificate(certificate);

        Assert.False(caller.IsAllowed(["wr\u0131ter.example.com"]));
    }

    private static X509Certificate2 SelfSigned(string subject, Action<SubjectAlternativeNameBuilder>? san = null)
    {
        using var key = ECDsa.Create();
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (san is not null)
        {
            var names = new SubjectAlternativeNameBuilder();
            san(names);
            request.CertificateExtensions.Add(names.Build());
        }

        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
