using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wal.Grpc;
using Wal.Schemas.V1;

namespace Wal.Client.Tests;

/// <summary>
/// Which certificates the client takes as the ingress's when it trusts a private CA
/// (<see cref="WalClientOptions.ServerCertificateAuthorities"/>). One CA often issues clients'
/// certificates too, so one of those, named for the ingress's host, must not pass for the server.
/// </summary>
public sealed class ServerCertificateTests : IDisposable
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly RSA _caKey = RSA.Create(2048);
    private readonly X509Certificate2 _ca;

    public ServerCertificateTests()
    {
        var request = new CertificateRequest("CN=Wal Client Test CA", _caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    [Fact]
    public async Task ClientOnlyCertificateForTheHost_RefusedFalseAndNothingSent()
    {
        await using var ingress = await TlsIngress.StartAsync(Issue(ClientAuthentication));
        using var client = Client(ingress);

        var response = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "w1" });

        Assert.True(response.Durable == Trilean.False, $"{response.Durable}: {response.Message}");
        Assert.Contains("TLS with", response.Message, StringComparison.Ordinal);
        Assert.Empty(ingress.Received);
    }

    [Fact]
    public async Task ClientOnlyCertificateForTheHost_AdminCallThrowsNothingSent()
    {
        await using var ingress = await TlsIngress.StartAsync(Issue(ClientAuthentication));
        using var client = Client(ingress);

        var e = await Assert.ThrowsAsync<WalCallException>(() => client.ListNamespacesAsync());

        Assert.True(e.NothingSent);
        Assert.Equal(14, e.StatusCode);
        Assert.Contains("TLS with", e.Message, StringComparison.Ordinal);
    }

    // RFC 5280: a certificate without extended key usage is good for any purpose, server authentication included.
    [Theory]
    [InlineData(ServerAuthentication)]
    [InlineData(null)]
    public async Task ServerAuthOrNoExtendedKeyUsage_Accepted(string? usage)
    {
        await using var ingress = await TlsIngress.StartAsync(Issue(usage));
        using var client = Client(ingress);

        var response = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "orders", Id = "w1" });

        Assert.True(response.Durable == Trilean.True, $"{response.Durable}: {response.Message}");
        Assert.Equal(["w1"], ingress.Received);
    }

    [Fact]
    public void FromPemFiles_CaFileHoldingNoCertificate_RefusedNamingTheFile()
    {
        // The CA's key given for its certificate imports nothing, without an error, and an empty set of authorities left
        // the machine's trust store to vouch for the ingress: the one thing ServerCertificateAuthorities is there to stop.
        var keyFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(keyFile, _caKey.ExportPkcs8PrivateKeyPem());

            var e = Assert.Throws<ArgumentException>(() => WalClientOptions.FromPemFiles(new Uri("https://127.0.0.1:50051"), null, null, keyFile));

            Assert.Contains(keyFile, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    [Fact]
    public void Constructor_PrivateCaWithAnHttpAddress_RefusedSayingHttps()
    {
        // http:// is cleartext: the CA would never be asked, nor a client certificate presented.
        var options = new WalClientOptions { Address = new Uri("http://127.0.0.1:50051"), ServerCertificateAuthorities = [_ca] };

        var e = Assert.Throws<ArgumentException>(() => new WalClient(options));

        Assert.Contains("https://", e.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
    }

    private WalClient Client(TlsIngress ingress) => new(new WalClientOptions
    {
        Address = ingress.Address,
        ServerCertificateAuthorities = [_ca],
        ConnectAttempts = 1,
    });

    /// <summary>A certificate for 127.0.0.1 that the CA signs, with <paramref name="usage"/> as its only extended key usage (none when null).</summary>
    private X509Certificate2 Issue(string? usage)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=ingress", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        if (usage is not null)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        }

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var signed = request.Create(_ca.SubjectName, X509SignatureGenerator.CreateForRSA(_caKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(12));
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Kestrel over TLS with the given certificate, answering WriteToLog TRUE and noting each id it received.</summary>
    private sealed class TlsIngress : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly X509Certificate2 _certificate;

        private TlsIngress(WebApplication app, X509Certificate2 certificate, Uri address, ConcurrentQueue<string> received)
        {
            _app = app;
            _certificate = certificate;
            Address = address;
            Received = received;
        }

        public Uri Address { get; }

        public ConcurrentQueue<string> Received { get; }

        public static async Task<TlsIngress> StartAsync(X509Certificate2 certificate)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                // Through the handshake callback: UseHttps(certificate) refuses one whose extended key usage leaves
                // out serverAuth, and a server that means to pose as the ingress does not ask Kestrel's leave.
                l.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = certificate,
                        ApplicationProtocols = [SslApplicationProtocol.Http2],
                    }),
                });
            }));
            builder.Services.AddGrpcServer();
            var app = builder.Build();
            var received = new ConcurrentQueue<string>();
            app.MapGrpcUnary<WriteToLogRequest, WriteToLogResponse>("/wal.v1.WriteAheadLog/WriteToLog", WriteToLogRequest.Parser, (r, _) =>
            {
                received.Enqueue(r.Id);
                return ValueTask.FromResult(new WriteToLogResponse { Durable = Trilean.True, Id = r.Id });
            });
            await app.StartAsync();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            return new TlsIngress(app, certificate, address, received);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            _certificate.Dispose();
        }
    }
}
