using Google.Protobuf;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

/// <summary>
/// The server-wide bound on messages still arriving: a caller holding messages half sent, on any
/// number of calls, cannot make the server buffer more than the bound.
/// </summary>
public sealed class GrpcReceiveBudgetTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    // Room for one 60 KiB message still arriving, not two.
    private readonly EchoServer _server = new() { MaxReceivingBytes = 100 * 1024 };

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Unary_MessageArrivingWhileAnotherHoldsTheBudget_ResourceExhaustedAtOnce_AdmittedOnceGivenBack()
    {
        using var client = new GrpcTestClient(_server.Address);
        var (held, heldRest, heldSize) = Halves("held");
        var heldContent = new DuplexContent(held);
        var heldCall = client.SendAsync(EchoServer.Unary, heldContent);
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == heldSize, Deadline, $"the half-sent message holding its {heldSize} bytes (holds {_server.Budget.Used})");

        var (refusedHalf, _, _) = Halves("refused");
        var refused = await client.SendAsync(EchoServer.Unary, new DuplexContent(refusedHalf)).WaitAsync(Deadline);

        Assert.Equal(StatusCode.ResourceExhausted, refused.Status);
        Assert.Contains($"already receiving {heldSize} bytes", refused.Message, StringComparison.Ordinal);
        Assert.Equal(heldSize, _server.Budget.Used);

        await heldContent.SendAsync(heldRest);
        heldContent.HalfClose();
        var answered = await heldCall.WaitAsync(Deadline);
        Assert.Equal(StatusCode.OK, answered.Status);
        Assert.Equal("held", Echo.Parser.ParseFrom(answered.Messages.Single()).Text);
        Assert.Equal(0, _server.Budget.Used);

        // Given back, the room takes the next such message.
        var (later, laterRest, laterSize) = Halves("later");
        var laterContent = new DuplexContent(later);
        var laterCall = client.SendAsync(EchoServer.Unary, laterContent);
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == laterSize, Deadline, "the next half-sent message taking the room");
        await laterContent.SendAsync(laterRest);
        laterContent.HalfClose();
        Assert.Equal(StatusCode.OK, (await laterCall.WaitAsync(Deadline)).Status);
    }

    [Fact]
    public async Task Unary_CallerGoneWhileItsMessageArrives_BudgetGivenBack()
    {
        var (held, _, heldSize) = Halves("abandoned");
        var client = new GrpcTestClient(_server.Address);
        var call = client.SendAsync(EchoServer.Unary, new DuplexContent(held));
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == heldSize, Deadline, "the half-sent message holding the room");

        // The connection goes away with the message half sent: nothing will ever complete it.
        client.Dispose();
        await Assert.ThrowsAnyAsync<Exception>(() => call);

        await Eventually.WaitUntilAsync(() => _server.Budget.Used == 0, Deadline, $"the abandoned message's room given back (still {_server.Budget.Used})");
    }

    [Fact]
    public async Task Duplex_MessageThatDoesNotFit_EndsTheCallWithResourceExhaustedAfterTheEarlierAnswers()
    {
        using var client = new GrpcTestClient(_server.Address);
        var (held, heldRest, heldSize) = Halves("held");
        var heldContent = new DuplexContent(held);
        var heldCall = client.SendAsync(EchoServer.Unary, heldContent);
        await Eventually.WaitUntilAsync(() => _server.Budget.Used == heldSize, Deadline, "the half-sent message holding the room");

        var (secondHalf, _, _) = Halves("second");
        var stream = new DuplexContent([.. GrpcTestClient.Frame(new Echo { Text = "first" }), .. secondHalf]);
        var ended = await client.SendAsync(EchoServer.Duplex, stream).WaitAsync(Deadline);

        Assert.Equal(StatusCode.ResourceExhausted, ended.Status);
        Assert.Equal("first", Echo.Parser.ParseFrom(ended.Messages.Single()).Text);
        Assert.Equal(heldSize, _server.Budget.Used);
        await heldContent.SendAsync(heldRest);
        heldContent.HalfClose();
        Assert.Equal(StatusCode.OK, (await heldCall.WaitAsync(Deadline)).Status);
    }

    // A 60 KiB message's frame cut in two, and the message's size (what it holds while it arrives).
    private static (byte[] First, byte[] Remainder, int Size) Halves(string text)
    {
        var message = new Echo { Text = text, Data = ByteString.CopyFrom(new byte[60 * 1024]) };
        var frame = GrpcTestClient.Frame(message);
        var cut = frame.Length / 2;
        return (frame[..cut], frame[cut..], message.CalculateSize());
    }
}
