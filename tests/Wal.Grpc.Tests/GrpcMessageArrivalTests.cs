using System.Buffers.Binary;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

/// <summary>
/// A message that began arriving has a time to arrive whole: a stream is exempt from Kestrel's minimum data rate, so a
/// caller stopped in the middle of a message would otherwise hold its part of the receive budget as long as its
/// connection lived, and enough of them would refuse every other caller's message that arrives in more than one read.
/// </summary>
public sealed class GrpcMessageArrivalTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private readonly EchoServer _server = new() { MaxMessageArrivalTime = TimeSpan.FromSeconds(1) };

    public Task InitializeAsync() => _server.InitializeAsync();

    public Task DisposeAsync() => _server.DisposeAsync();

    [Fact]
    public async Task Duplex_CallerStopsInsideAMessage_CallEndsResourceExhaustedAfterTheEarlierAnswers_BudgetGivenBack()
    {
        using var client = new GrpcTestClient(_server.Address);
        // A whole message, then a header declaring 1000 bytes and 10 of them; the request side stays open.
        var stalled = new byte[5 + 10];
        BinaryPrimitives.WriteUInt32BigEndian(stalled.AsSpan(1), 1000);
        var stream = new DuplexContent([.. GrpcTestClient.Frame(new Echo { Text = "first" }), .. stalled]);

        var ended = await client.SendAsync(EchoServer.Duplex, stream).WaitAsync(Deadline);

        Assert.True(ended.Status == StatusCode.ResourceExhausted, $"{ended.Status} {ended.Message}");
        Assert.Contains("began arriving", ended.Message, StringComparison.Ordinal);
        Assert.Equal("first", Echo.Parser.ParseFrom(ended.Messages.Single()).Text);
        await Eventually.WaitUntilAsync(() => Task.FromResult(_server.Budget.Used == 0), Deadline, () => $"the stalled message's part given back (holds {_server.Budget.Used})");
    }

    [Fact]
    public async Task Duplex_MessageArrivingInPiecesWithinItsTime_Answered()
    {
        using var client = new GrpcTestClient(_server.Address);
        var frame = GrpcTestClient.Frame(new Echo { Text = "pieces", Data = Google.Protobuf.ByteString.CopyFrom(new byte[3000]) });
        var stream = new DuplexContent(frame[..1000]);
        var call = client.SendAsync(EchoServer.Duplex, stream);
        await Eventually.WaitUntilAsync(() => Task.FromResult(_server.Budget.Used > 0), Deadline, () => "the first piece to hold part of the budget");

        await stream.SendAsync(frame[1000..2000]);
        await stream.SendAsync(frame[2000..]);
        stream.HalfClose();

        var answered = await call.WaitAsync(Deadline);
        Assert.Equal(StatusCode.OK, answered.Status);
        Assert.Equal("pieces", Echo.Parser.ParseFrom(answered.Messages.Single()).Text);
    }

    [Fact]
    public async Task Duplex_QuietBetweenWholeMessagesLongerThanTheArrivalTime_NotEnded()
    {
        // On a clock the test moves: three arrival times pass in an instant, and any timer left set fires as they do.
        var time = new ManualTimeProvider();
        var server = new EchoServer { MaxMessageArrivalTime = TimeSpan.FromSeconds(1), Time = time };
        await server.InitializeAsync();
        try
        {
            using var client = new GrpcTestClient(server.Address);
            // The first message arrives in two pieces, so it holds the budget (and sets its timer) until it is whole.
            var before = GrpcTestClient.Frame(new Echo { Text = "before", Data = Google.Protobuf.ByteString.CopyFrom(new byte[3000]) });
            var stream = new DuplexContent(before[..1000]);
            var call = client.SendAsync(EchoServer.Duplex, stream);
            await Eventually.WaitUntilAsync(() => server.Budget.Used > 0, Deadline, "the first piece to hold part of the budget");
            await stream.SendAsync(before[1000..]);
            await Eventually.WaitUntilAsync(() => server.Budget.Used == 0, Deadline, "the message, whole, to give its part back");

            // Quiet, with no message begun: nothing holds the budget, so nothing is overdue.
            time.Advance(TimeSpan.FromSeconds(3));
            await stream.SendAsync(GrpcTestClient.Frame(new Echo { Text = "after" }));
            stream.HalfClose();

            var answered = await call.WaitAsync(Deadline);
            Assert.True(answered.Status == StatusCode.OK, $"{answered.Status} {answered.Message}");
            Assert.Equal(["before", "after"], answered.Messages.Select(m => Echo.Parser.ParseFrom(m).Text));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
