namespace Wal.Ingress.Tests;

/// <summary>An ingress with mutual TLS against a private CA, shared by a test class.</summary>
public sealed class TlsFixture : IAsyncLifetime
{
    public TestCertificates Certificates { get; } = new();

    public IngressTestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await IngressTestHost.StartAsync(brokers: 1, o =>
    {
        o.TlsCertificatePath = Certificates.ServerCertificatePath;
        o.TlsKeyPath = Certificates.ServerKeyPath;
        o.ClientCaPath = Certificates.CaPath;
    });

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Certificates.Dispose();
    }
}
