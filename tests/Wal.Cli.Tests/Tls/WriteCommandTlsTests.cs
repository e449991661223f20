using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Wal.Cli.Tests.Operator;
using Wal.Ingress;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Tls;

/// <summary>
/// <c>wal write</c> (and <c>mutate</c> and <c>namespaces</c>) against an ingress with mutual TLS, both using the
/// certificates the compose file's certs service makes, and a namespace whose allow-list names the client certificate.
/// </summary>
public sealed class WriteCommandTlsTests : IAsyncLifetime
{
    private const string Namespace = "guarded";
    private const string MutationNamespace = "guarded-mutations";
    private readonly ComposeCertificates _certificates = new();
    private EmbeddedKafkaCluster _kafka = null!;
    private WebApplication _ingress = null!;

    private string Address => _ingress.GetGrpcAddress().ToString();

    public async Task InitializeAsync()
    {
        _kafka = EmbeddedKafkaCluster.Start(1);
        var registry = new NamespaceRegistry(
        [
            new NamespaceConfig
            {
                Name = Namespace,
                AllowedClients = { ComposeCertificates.ClientName },
                DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
            },
            new NamespaceConfig
            {
                Name = MutationNamespace,
                AllowedClients = { ComposeCertificates.ClientName },
                Personas = { Persona.MultiTableMutation },
                // The chunks' tables are clusters of this default; without one the ingress refuses every chunk.
                DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
            },
        ]);
        foreach (var ns in registry.All)
        {
            _kafka.CreateTopic(ns.Topic, partitions: 1);
        }
        _ingress = IngressHost.Build(
            new IngressOptions
            {
                Port = 0,
                AdminPort = -1,
                BootstrapServers = _kafka.BootstrapServers,
                TlsCertificatePath = _certificates.File("server.pem"),
                TlsKeyPath = _certificates.File("server.key"),
                ClientCaPath = _certificates.File("ca.pem"),
            },
            registry,
            b => b.Logging.ClearProviders());
        await _ingress.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _ingress.StopAsync();
        await _ingress.DisposeAsync();
        _kafka.Dispose();
        _certificates.Dispose();
    }

    [Fact]
    public async Task Write_ClientCertificateOnTheAllowList_DurableTrue()
    {
        var run = await Write("--tls-cert", _certificates.File("client.pem"), "--tls-key", _certificates.File("client.key"), "--tls-ca", _certificates.File("ca.pem"));

        Assert.StartsWith("https://", Address, StringComparison.Ordinal);
        Assert.True(run.Exit == ExitCodes.Ok, run.ToString());
        Assert.Contains("durable: TRUE", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_NoClientCertificate_NotDurable()
    {
        var run = await Write("--tls-ca", _certificates.File("ca.pem"));

        Assert.NotEqual(ExitCodes.Ok, run.Exit);
        Assert.DoesNotContain("durable: TRUE", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_ServerNotSignedByTheGivenCa_FalseNothingSent()
    {
        // The client certificate stands in for a CA the server's certificate does not chain to.
        // The client refuses the handshake itself, so it knows no request left: FALSE, not UNKNOWN.
        var run = await Write("--tls-cert", _certificates.File("client.pem"), "--tls-key", _certificates.File("client.key"), "--tls-ca", _certificates.File("client.pem"));

        Assert.True(run.Exit == ExitCodes.NotDurable, run.ToString());
        Assert.Contains("durable: FALSE", run.Out, StringComparison.Ordinal);
        Assert.Contains("TLS", run.Out + run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mutate_ClientCertificateOnTheAllowList_MarkerDurable()
    {
        // wal mutate had no TLS options, so it could not reach an ingress that serves only mutual TLS (docker-compose's).
        var run = await OperatorStackFixture.RunAsync(
            "mutate", MutationNamespace, "--chunk", "table=local;key=user:1;value=Ada", "--address", Address,
            "--tls-cert", _certificates.File("client.pem"), "--tls-key", _certificates.File("client.key"), "--tls-ca", _certificates.File("ca.pem"));

        Assert.True(run.Exit == ExitCodes.Ok, run.ToString());
    }

    [Fact]
    public async Task Namespaces_IngressCertificateNotTrusted_TwoLineErrorSayingNothingWasSent()
    {
        // Without --tls-ca the machine's trust store decides, and it does not hold the compose CA.
        var run = await OperatorStackFixture.RunAsync("namespaces", "list", "--address", Address);

        Assert.True(run.Exit == ExitCodes.Failed, run.ToString());
        var lines = run.ErrorLines;
        Assert.True(lines.Length == 2, run.ToString());
        Assert.StartsWith($"error: TLS with {Address}", lines[0], StringComparison.Ordinal);
        Assert.Contains("nothing was sent", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("next: Pass --tls-ca", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_CertificateWithoutKey_UsageErrorNamingTheOptions()
    {
        var run = await Write("--tls-cert", _certificates.File("client.pem"));

        Assert.Equal(ExitCodes.Usage, run.Exit);
        Assert.Contains("--tls-key", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_CaFileHoldingNoCertificate_UsageErrorNamingTlsCa()
    {
        // ca.key beside ca.pem is an easy slip. Read as no CA at all, the client fell back to the machine's trust store,
        // which --tls-ca is there to replace: against an ingress with a publicly trusted certificate the write went out
        // to whichever server that store vouches for, and against this one it failed as a mere TLS error.
        var run = await Write("--tls-cert", _certificates.File("client.pem"), "--tls-key", _certificates.File("client.key"), "--tls-ca", _certificates.File("ca.key"));

        Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
        Assert.Contains("--tls-ca", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_TlsFilesWithAnHttpAddress_UsageErrorNamingHttps()
    {
        // TLS files ask for TLS; an http:// address sends in cleartext and ignores them. The user must pick one.
        var cleartext = new UriBuilder(Address) { Scheme = "http" }.Uri.ToString();

        var run = await OperatorStackFixture.RunAsync(["write", Namespace, "--value", "meant for TLS", "--memcached-key", "greeting", "--address", cleartext,
            "--tls-cert", _certificates.File("client.pem"), "--tls-key", _certificates.File("client.key"), "--tls-ca", _certificates.File("ca.pem")]);

        Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
        Assert.Contains("https://", run.Error, StringComparison.Ordinal);
    }

    private Task<CliRun> Write(params string[] tls) =>
        OperatorStackFixture.RunAsync(["write", Namespace, "--value", "over mutual TLS", "--memcached-key", "greeting", "--address", Address, .. tls]);
}
