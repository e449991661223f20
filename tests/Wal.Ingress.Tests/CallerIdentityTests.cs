using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

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

    [Fact]
    public void From_AnotherRequestWithTheConnectionsCertificate_SameIdentityNothingAllocated()
    {
        // Kestrel hands every request of a connection the same certificate instance: its names are read once.
        using var certificate = SelfSigned("CN=writer-a", san => san.AddDnsName("writer-a.example.com"));
        var first = CallerIdentity.From(RequestWith(certificate));
        var second = RequestWith(certificate);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var caller = CallerIdentity.From(second);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Same(first, caller);
        Assert.Equal(["writer-a"], caller.CommonNames);
        Assert.Equal(["writer-a.example.com"], caller.DnsNames);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void From_PlaintextRequest_AnonymousNothingAllocated()
    {
        CallerIdentity.From(new DefaultHttpContext());
        var request = new DefaultHttpContext();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var caller = CallerIdentity.From(request);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Same(CallerIdentity.Anonymous, caller);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void IsAllowed_CheckedForAWrite_NothingAllocated()
    {
        using var certificate = SelfSigned("CN=writer-a", san => san.AddDnsName("writer-a.example.com"));
        var caller = CallerIdentity.FromCertificate(certificate);
        string[] byCommonName = ["reader", "writer-a"];
        string[] byDnsName = ["reader", "WRITER-A.example.com"];
        string[] neither = ["reader"];
        caller.IsAllowed(byCommonName);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var answers = (caller.IsAllowed(byCommonName), caller.IsAllowed(byDnsName), caller.IsAllowed(neither));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal((true, true, false), answers);
        Assert.Equal(0, allocated);
    }

    private static DefaultHttpContext RequestWith(X509Certificate2 certificate)
    {
        var request = new DefaultHttpContext();
        request.Features.Set<ITlsConnectionFeature>(new TlsConnectionFeature { ClientCertificate = certificate });
        return request;
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
