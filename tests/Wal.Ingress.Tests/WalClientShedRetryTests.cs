using Google.Protobuf;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>WalClient's unary write against the real ingress's rate quota and its retry pushback.</summary>
public sealed class WalClientShedRetryTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    [Fact]
    public async Task WriteOverTheNamespaceRate_ClientWaitsThePushbackAndTheWriteIsTrueOnce()
    {
        // The burst of one is spent, so the next write is shed with the time until the next token (at most 5 s),
        // inside the client's 20 s deadline.
        using var client = new WalClient(new WalClientOptions { Address = fixture.Host.Address, Deadline = TimeSpan.FromSeconds(20) });
        var burst = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = TestNamespaces.Paced, Id = "client-burst" });
        Assert.True(burst.Durable == Trilean.True, burst.Message);
        using var shed = new ShedCounter(fixture.Host, TestNamespaces.Paced);

        var retried = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = TestNamespaces.Paced, Id = "client-retried", Payload = ByteString.CopyFromUtf8("x") });

        Assert.True(retried.Durable == Trilean.True, retried.Message);
        Assert.Equal(1, shed.Count);
        Assert.Single(fixture.Host.ReadAll(fixture.Host.TopicOf(TestNamespaces.Paced)), r => r.Entry.Id == "client-retried");
    }
}
