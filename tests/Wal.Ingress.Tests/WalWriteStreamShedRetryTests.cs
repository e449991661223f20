using Google.Protobuf;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>WalWriteStream's writes against the real ingress's rate quota and the pushback in a shed write's acknowledgement.</summary>
public sealed class WalWriteStreamShedRetryTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    [Fact]
    public async Task WriteOverTheNamespaceRate_StreamWaitsThePushbackAndTheWriteIsTrueOnce()
    {
        // The burst of one is spent by the first write, so the second is shed with the time until the next token (at
        // most 5 s, inside the client's 20 s deadline). Completed at once, as the class's own example does: the request
        // side must stay open for the write to go out again.
        using var client = new WalClient(new WalClientOptions { Address = fixture.Host.Address, Deadline = TimeSpan.FromSeconds(20) });
        using var shed = new ShedCounter(fixture.Host, TestNamespaces.Paced);
        await using var stream = client.OpenWriteStream();

        var burst = stream.WriteAsync(new WriteToLogRequest { Namespace = TestNamespaces.Paced, Id = "stream-burst" });
        var retried = stream.WriteAsync(new WriteToLogRequest { Namespace = TestNamespaces.Paced, Id = "stream-retried", Payload = ByteString.CopyFromUtf8("x") });
        await stream.CompleteAsync();

        Assert.True((await burst).Durable == Trilean.True, (await burst).Message);
        Assert.True((await retried).Durable == Trilean.True, (await retried).Message);
        Assert.Equal(1, shed.Count);
        Assert.Single(fixture.Host.ReadAll(fixture.Host.TopicOf(TestNamespaces.Paced)), r => r.Entry.Id == "stream-retried");
    }

    [Fact]
    public async Task WriteWhoseNextTokenIsPastTheDeadline_AnsweredAtOnceWithTheRefusal()
    {
        using var client = new WalClient(new WalClientOptions { Address = fixture.Host.Address, Deadline = TimeSpan.FromSeconds(20) });
        using var shed = new ShedCounter(fixture.Host, TestNamespaces.Standstill);
        await using var stream = client.OpenWriteStream();

        var burst = await stream.WriteAsync(new WriteToLogRequest { Namespace = TestNamespaces.Standstill, Id = "standstill-burst" });
        var refused = await stream.WriteAsync(new WriteToLogRequest { Namespace = TestNamespaces.Standstill, Id = "standstill-refused" });

        Assert.True(burst.Durable == Trilean.True, burst.Message);
        Assert.Equal(Trilean.False, refused.Durable);
        Assert.Contains("over its quota", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, shed.Count);
        Assert.DoesNotContain(fixture.Host.ReadAll(fixture.Host.TopicOf(TestNamespaces.Standstill)), r => r.Entry.Id == "standstill-refused");
    }
}
