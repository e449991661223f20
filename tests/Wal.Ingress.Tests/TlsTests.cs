using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>Mutual TLS on the gRPC port and each namespace's allow-list of client identities.</summary>
public sealed class TlsTests(TlsFixture fixture) : IClassFixture<TlsFixture>
{
    private readonly TestCertificates _certificates = fixture.Certificates;
    private readonly IngressTestHost _host = fixture.Host;

    [Fact]
    public async Task WriteToLog_AllowedClientCertificate_True()
    {
        using var certificate = _certificates.Client(TestNamespaces.AllowedClient);
        using var client = new GrpcTestClient(_host.Address, handler: _certificates.Handler(certificate));

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("allowed"));

        Assert.Equal("https", _host.Address.Scheme);
        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages)).Durable);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WriteToLog_PythonClientTrustingOnlyTheRoot_TrueOverMutualTls(bool certificateIssuedByAnIntermediate)
    {
        // The server's certificate comes from an intermediate CA: grpc-core verifies it only if the handshake carries
        // the intermediate, since the client has just the root. A client certificate from an intermediate goes out with
        // the intermediate that follows it in its file.
        var (certificate, key) = certificateIssuedByAnIntermediate
            ? _certificates.ClientFilesFromIntermediate(TestNamespaces.AllowedClient)
            : _certificates.ClientFiles(TestNamespaces.AllowedClient);
        var id = certificateIssuedByAnIntermediate ? "python-mtls-intermediate" : "python-mtls";

        var result = await PythonGrpcClient.CallAsync(
            _host.Address, WriteAheadLogService.WriteToLogPath, Write(id).ToByteArray(), 30, _certificates.CaPath, certificate, key);

        Assert.True(result.Code == StatusCode.OK, $"{result.Code}: {result.Details}");
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(result.Response).Durable);
        Assert.Contains(_host.ReadAll(_host.TopicOf(TestNamespaces.Guarded)), r => r.Entry.Id == id);
    }

    [Fact]
    public async Task WriteToLog_TypedClientTrustingOnlyTheRoot_TrueOverMutualTls()
    {
        var (certificate, key) = _certificates.ClientFiles(TestNamespaces.AllowedClient);
        using var client = new Wal.Client.WalClient(Wal.Client.WalClientOptions.FromPemFiles(_host.Address, certificate, key, _certificates.CaPath));

        var response = await client.WriteToLogAsync(Write("typed-mtls"));

        Assert.Equal(Trilean.True, response.Durable);
    }

    [Fact]
    public async Task WriteToLog_TypedClientWhoseCertificateFileCarriesItsIntermediate_TrueOverMutualTls()
    {
        // The ingress trusts only the root, so it needs the client's intermediate from the handshake, as grpc-core sends
        // it from the same file. The typed client (and so the CLI) read only the file's first certificate and sent it
        // alone: the handshake failed for every client certificate an intermediate CA issued.
        var (certificate, key) = _certificates.ClientFilesFromIntermediate(TestNamespaces.AllowedClient);
        using var client = new Wal.Client.WalClient(Wal.Client.WalClientOptions.FromPemFiles(_host.Address, certificate, key, _certificates.CaPath));

        var response = await client.WriteToLogAsync(Write("typed-mtls-intermediate"));

        Assert.True(response.Durable == Trilean.True, $"{response.Durable}: {response.Message}");
        Assert.Contains(_host.ReadAll(_host.TopicOf(TestNamespaces.Guarded)), r => r.Entry.Id == "typed-mtls-intermediate");
    }

    [Fact]
    public async Task WriteToLog_TrustedClientNotOnAllowList_PermissionDeniedNothingProduced()
    {
        using var certificate = _certificates.Client("someone-else");
        using var client = new GrpcTestClient(_host.Address, handler: _certificates.Handler(certificate));

        var refused = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("denied"));
        var open = await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders });

        Assert.Equal(StatusCode.PermissionDenied, refused.Status);
        Assert.Contains("someone-else", refused.Message, StringComparison.Ordinal);
        Assert.Equal(Trilean.False, Assert.Single(refused.Details!.Details).Unpack<WriteToLogResponse>().Durable);
        Assert.DoesNotContain(_host.ReadAll(_host.TopicOf(TestNamespaces.Guarded)), r => r.Entry.Id == "denied");
        Assert.Equal(StatusCode.OK, open.Status);
    }

    [Theory]
    [InlineData("C=US, O=" + TestNamespaces.AllowedClient)]
    [InlineData("O=acme, L=" + TestNamespaces.AllowedClient)]
    [InlineData("SERIALNUMBER=" + TestNamespaces.AllowedClient)]
    public async Task WriteToLog_TrustedCertificateWithoutCnOrDnsNameButAllowedNameInAnotherField_PermissionDeniedNothingProduced(string subject)
    {
        // Only the subject's CN and the DNS names count (namespace.proto, README): an organization, a locality or a
        // serial number that happens to spell an allowed name is not that client. A CA issuing certificates
        // per team (O=...) or per site (L=...) must not thereby admit every holder as the client of that name.
        using var certificate = _certificates.ClientWithSubject(subject);
        using var client = new GrpcTestClient(_host.Address, handler: _certificates.Handler(certificate));
        var id = $"no-cn-{Guid.NewGuid():N}";

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(id));

        Assert.True(response.Status == StatusCode.PermissionDenied, $"{response.Status}: {response.Message}");
        Assert.DoesNotContain(_host.ReadAll(_host.TopicOf(TestNamespaces.Guarded)), r => r.Entry.Id == id);
    }

    [Fact]
    public async Task WriteToLog_TrustedCertificateWithoutCnWhoseEmailNameIsAllowed_PermissionDeniedNothingProduced()
    {
        using var certificate = _certificates.ClientWithSubject("O=acme", san => san.AddEmailAddress(TestNamespaces.AllowedClient));
        using var client = new GrpcTestClient(_host.Address, handler: _certificates.Handler(certificate));
        var id = $"email-{Guid.NewGuid():N}";

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(id));

        Assert.True(response.Status == StatusCode.PermissionDenied, $"{response.Status}: {response.Message}");
        Assert.DoesNotContain(_host.ReadAll(_host.TopicOf(TestNamespaces.Guarded)), r => r.Entry.Id == id);
    }

    [Fact]
    public async Task Connect_ClientCertificateFromAnotherCa_HandshakeRefused()
    {
        using var certificate = TestCertificates.Rogue(TestNamespaces.AllowedClient);

        await AssertHandshakeRefusedNothingProducedAsync(certificate, "rogue");
    }

    [Fact]
    public async Task Connect_TrustedCaButServerOnlyCertificate_HandshakeRefusedNothingProduced()
    {
        // One CA often issues servers' and clients' certificates: a server's (serverAuth only) must not pass for a client
        // named on an allow-list, or whoever holds a server's key could write as that client.
        using var certificate = _certificates.ServerOnly(TestNamespaces.AllowedClient);

        await AssertHandshakeRefusedNothingProducedAsync(certificate, "server-certificate");
    }

    [Fact]
    public async Task Connect_NoClientCertificate_HandshakeRefused()
    {
        using var client = new GrpcTestClient(_host.Address, handler: _certificates.Handler(null));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("anonymous")));
    }

    [Fact]
    public async Task WriteToLog_GuardedNamespaceOverCleartextWithoutCertificate_Unauthenticated()
    {
        await using var cleartext = await IngressTestHost.StartAsync(brokers: 1);
        using var client = new GrpcTestClient(cleartext.Address);

        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("no-cert"));

        Assert.Equal(StatusCode.Unauthenticated, response.Status);
        Assert.Equal(0, cleartext.CountRecords(cleartext.TopicOf(TestNamespaces.Guarded)));
    }

    private async Task AssertHandshakeRefusedNothingProducedAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string id)
    {
        using var client = new GrpcTestClient(_host.Address, handler: _certificates.Handler(certificate));

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.CallAsync(WriteAheadLogService.WriteToLogPath, Write(id)));
        Assert.DoesNotContain(_host.ReadAll(_host.TopicOf(TestNamespaces.Guarded)), r => r.Entry.Id == id);
    }

    private static WriteToLogRequest Write(string id) =>
        new() { Namespace = TestNamespaces.Guarded, Id = id, Payload = ByteString.CopyFromUtf8(id) };
}
