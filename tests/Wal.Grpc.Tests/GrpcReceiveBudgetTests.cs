using System.Buffers.Binary;
using Google.Protobuf;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

/// <summary>
/// The server-wide bound on messages still arriving: a caller holding messages almost all sent, on any
/// number of calls, cannot make the server buffer more than the bound.
/// </summary>
public sealed class GrpcReceiveBudgetTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    // Room for one 60 KiB message almost all arrived, not two.
    private readonly EchoServer _server = new() { MaxReceivingBytes = 100 * 1024 };

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Unary_MessageArrivingWhileAnotherHoldsTheBudget_ResourceExhausted_AdmittedOnceGivenBack()
    {
        using var client = new GrpcTestClient(_server.Address);
        var (held, heldRest, heldSize) = AlmostAll("held");
        var heldContent = new DuplexContent(held);
        var heldCall = client.SendAsync(EchoServer.Unary, heldContent);
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == heldSize, Deadline, $"the almost-sent message holding its {heldSize} bytes (holds {_server.Budget.Used})");

        var (refusedStart, _, _) = AlmostAll("refused");
        var refused = await client.SendAsync(EchoServer.Unary, new DuplexContent(refusedStart)).WaitAsync(Deadline);

        Assert.Equal(StatusCode.ResourceExhausted, refused.Status);
        Assert.Contains("not yet whole", refused.Message, StringComparison.Ordinal);
        // What the refused message had taken goes back as its call ends, just after its answer.
        await Eventually.WaitUntilAsync(() => Task.FromResult(_server.Budget.Used == heldSize), Deadline, () => $"only the held message holding (holds {_server.Budget.Used})");

        await heldContent.SendAsync(heldRest);
        heldContent.HalfClose();
        var answered = await heldCall.WaitAsync(Deadline);
        Assert.Equal(StatusCode.OK, answered.Status);
        Assert.Equal("held", Echo.Parser.ParseFrom(answered.Messages.Single()).Text);
        Assert.Equal(0, _server.Budget.Used);

        // Given back, the room takes the next such message.
        var (later, laterRest, laterSize) = AlmostAll("later");
        var laterContent = new DuplexContent(later);
        var laterCall = client.SendAsync(EchoServer.Unary, laterContent);
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == laterSize, Deadline, "the next almost-sent message taking the room");
        await laterContent.SendAsync(laterRest);
        laterContent.HalfClose();
        Assert.Equal(StatusCode.OK, (await laterCall.WaitAsync(Deadline)).Status);
    }

    [Fact]
    public async Task Unary_CallerGoneWhileItsMessageArrives_BudgetGivenBack()
    {
        var (held, _, heldSize) = AlmostAll("abandoned");
        var client = new GrpcTestClient(_server.Address);
        var call = client.SendAsync(EchoServer.Unary, new DuplexContent(held));
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == heldSize, Deadline, "the almost-sent message holding the room");

        // The connection goes away with the message almost all sent: nothing will ever complete it.
        client.Dispose();
        await Assert.ThrowsAnyAsync<Exception>(() => call);

        await Eventually.WaitUntilAsync(() => _server.Budget.Used == 0, Deadline, $"the abandoned message's room given back (still {_server.Budget.Used})");
    }

    [Fact]
    public async Task Duplex_MessageThatDoesNotFit_EndsTheCallWithResourceExhaustedAfterTheEarlierAnswers()
    {
        using var client = new GrpcTestClient(_server.Address);
        var (held, heldRest, heldSize) = AlmostAll("held");
        var heldContent = new DuplexContent(held);
        var heldCall = client.SendAsync(EchoServer.Unary, heldContent);
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == heldSize, Deadline, "the almost-sent message holding the room");

        var (secondStart, _, _) = AlmostAll("second");
        var stream = new DuplexContent([.. GrpcTestClient.Frame(new Echo { Text = "first" }), .. secondStart]);
        var ended = await client.SendAsync(EchoServer.Duplex, stream).WaitAsync(Deadline);

        Assert.Equal(StatusCode.ResourceExhausted, ended.Status);
        Assert.Equal("first", Echo.Parser.ParseFrom(ended.Messages.Single()).Text);
        await Eventually.WaitUntilAsync(() => Task.FromResult(_server.Budget.Used == heldSize), Deadline, () => $"only the held message holding (holds {_server.Budget.Used})");
        await heldContent.SendAsync(heldRest);
        heldContent.HalfClose();
        Assert.Equal(StatusCode.OK, (await heldCall.WaitAsync(Deadline)).Status);
    }

    // A 60 KiB message's frame cut before its last 10 bytes, and the bytes of the message sent (what it holds while it arrives).
    private static (byte[] First, byte[] Remainder, int Size) AlmostAll(string text)
    {
        var message = new Echo { Text = text, Data = ByteString.CopyFrom(new byte[60 * 1024]) };
        var frame = GrpcTestClient.Frame(message);
        var cut = frame.Length - 10;
        return (frame[..cut], frame[cut..], cut - 5);
    }

    [Fact]
    public async Task Duplex_HeadersDeclaringLargeMessagesAndLittleMore_HoldOnlyWhatArrivedOthersStillAdmitted()
    {
        // Each header declares the largest message allowed, and 10 bytes of it follow: held by their
        // declared lengths, two of them would fill the budget and refuse every message arriving in
        // more than one read.
        using var client = new GrpcTestClient(_server.Address);
        var start = new byte[5 + 10];
        BinaryPrimitives.WriteUInt32BigEndian(start.AsSpan(1), EchoServer.MaxMessageSize);
        var stalled = Enumerable.Range(0, 4).Select(_ => client.SendAsync(EchoServer.Duplex, new DuplexContent(start))).ToList();
        await Eventually.WaitUntilAsync(() => Task.FromResult(_server.Budget.Used == 4 * 10), Deadline, () => $"four messages holding the 10 bytes each sent (hold {_server.Budget.Used})");

        var (first, rest, size) = AlmostAll("after");
        var content = new DuplexContent(first);
        var call = client.SendAsync(EchoServer.Unary, content);
        await Eventually.WaitUntilAsync(() => Task.FromResult(_server.Budget.Used == (4 * 10) + size), Deadline, () => $"the message arriving beside them (holds {_server.Budget.Used})");
        await content.SendAsync(rest);
        content.HalfClose();

        var answered = await call.WaitAsync(Deadline);
        Assert.Equal(StatusCode.OK, answered.Status);
        Assert.Equal("after", Echo.Parser.ParseFrom(answered.Messages.Single()).Text);
        Assert.All(stalled, s => Assert.False(s.IsCompleted));
    }
}
