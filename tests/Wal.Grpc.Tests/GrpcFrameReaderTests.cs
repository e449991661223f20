using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

public sealed class GrpcFrameReaderTests
{
    [Fact]
    public async Task ReadAsync_SeveralMessagesInOneWrite_ReturnsEachInOrderThenEnd()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Frames("a", "b", "c"));
        await pipe.Writer.CompleteAsync();
        var reader = new GrpcFrameReader(pipe.Reader, 1024);

        Assert.Equal("a", (await reader.ReadAsync(Echo.Parser, default))!.Text);
        Assert.Equal("b", (await reader.ReadAsync(Echo.Parser, default))!.Text);
        Assert.Equal("c", (await reader.ReadAsync(Echo.Parser, default))!.Text);
        Assert.Null(await reader.ReadAsync(Echo.Parser, default));
    }

    [Fact]
    public async Task ReadAsync_MessageSplitAcrossWrites_WaitsForItsRestAfterTheWholeOnes()
    {
        var pipe = new Pipe();
        var bytes = Frames("first", "second");
        var split = bytes.Length - 3;
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, split));
        var reader = new GrpcFrameReader(pipe.Reader, 1024);

        Assert.Equal("first", (await reader.ReadAsync(Echo.Parser, default))!.Text);
        var second = reader.ReadAsync(Echo.Parser, default);
        Assert.False(second.IsCompleted);
        await pipe.Writer.WriteAsync(bytes.AsMemory(split));
        Assert.Equal("second", (await second)!.Text);
    }

    [Fact]
    public async Task ReadAsync_HeldBufferUsedUp_GivesThePipeItsRoomBack()
    {
        // A pipe that pauses its writer above 64 bytes: a reader that kept the consumed bytes
        // would leave the writer paused for good.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32, useSynchronizationContext: false));
        var reader = new GrpcFrameReader(pipe.Reader, 1024);
        for (var round = 0; round < 20; round++)
        {
            var write = pipe.Writer.WriteAsync(Frames($"r{round}-x{new string('.', 40)}", $"r{round}-y"));
            Assert.StartsWith($"r{round}-x", (await reader.ReadAsync(Echo.Parser, default))!.Text, StringComparison.Ordinal);
            Assert.Equal($"r{round}-y", (await reader.ReadAsync(Echo.Parser, default))!.Text);
            var next = reader.ReadAsync(Echo.Parser, default);
            await write.AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.False(next.IsCompleted);
            await pipe.Writer.WriteAsync(Frames("filler"));
            Assert.Equal("filler", (await next)!.Text);
        }
    }

    [Fact]
    public async Task ReadAsync_OversizedFrameAfterAGoodOne_RefusesWithResourceExhausted()
    {
        var pipe = new Pipe();
        var big = new string('x', 200);
        await pipe.Writer.WriteAsync(Frames("ok", big));
        var reader = new GrpcFrameReader(pipe.Reader, 100);

        Assert.Equal("ok", (await reader.ReadAsync(Echo.Parser, default))!.Text);
        var refused = await Assert.ThrowsAsync<RpcException>(() => reader.ReadAsync(Echo.Parser, default).AsTask());
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
    }

    [Fact]
    public async Task ReadAsync_StreamEndsInsideAFrameAfterAGoodOne_RefusesWithInternal()
    {
        var pipe = new Pipe();
        var bytes = Frames("whole", "cut");
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, bytes.Length - 1));
        await pipe.Writer.CompleteAsync();
        var reader = new GrpcFrameReader(pipe.Reader, 1024);

        Assert.Equal("whole", (await reader.ReadAsync(Echo.Parser, default))!.Text);
        var refused = await Assert.ThrowsAsync<RpcException>(() => reader.ReadAsync(Echo.Parser, default).AsTask());
        Assert.Equal(StatusCode.Internal, refused.StatusCode);
    }

    [Fact]
    public async Task ReadAsync_MessageArrivingInManyPieces_HoldsWhatHasArrivedGivesItBackWhenWhole()
    {
        var pipe = new Pipe();
        var budget = new GrpcReceiveBudget(1024);
        var bytes = Frames("whole", new string('x', 300));
        var reader = new GrpcFrameReader(pipe.Reader, 1024, budget);
        var cut = bytes.Length - 200;
        var secondPayload = bytes.Length - new Echo { Text = new string('x', 300) }.CalculateSize();
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, cut));

        Assert.Equal("whole", (await reader.ReadAsync(Echo.Parser, default))!.Text);
        var arriving = reader.ReadAsync(Echo.Parser, default);
        Assert.Equal(cut - secondPayload, budget.Used);
        await pipe.Writer.WriteAsync(bytes.AsMemory(cut, 100));
        await Eventually.WaitUntilAsync(() => budget.Used == cut + 100 - secondPayload, TimeSpan.FromSeconds(10), $"the next piece held too (holds {budget.Used})");
        Assert.False(arriving.IsCompleted);
        await pipe.Writer.WriteAsync(bytes.AsMemory(cut + 100));

        Assert.Equal(300, (await arriving)!.Text.Length);
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task ReadAsync_HeaderDeclaringALargeMessageAndLittleMore_HoldsOnlyWhatArrived()
    {
        // A header costs its sender five bytes; holding the length it declares would let a few such
        // headers hold the whole budget.
        var pipe = new Pipe();
        var budget = new GrpcReceiveBudget(1024);
        var reader = new GrpcFrameReader(pipe.Reader, 1024, budget);
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 4, 0, 10, 3, 1 });

        var arriving = reader.ReadAsync(Echo.Parser, default);

        Assert.False(arriving.IsCompleted);
        Assert.Equal(3, budget.Used);
        reader.Dispose();
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task ReadAsync_LargestMessageInPiecesWithABudgetOfItsSize_Admitted()
    {
        // The smallest budget the options allow must still take the largest message they allow.
        var pipe = new Pipe();
        var budget = new GrpcReceiveBudget(1024);
        var reader = new GrpcFrameReader(pipe.Reader, 1024, budget);
        var text = new string('x', 1021);
        var bytes = Frames(text);
        Assert.Equal(5 + 1024, bytes.Length);
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, bytes.Length - 1));

        var arriving = reader.ReadAsync(Echo.Parser, default);
        Assert.Equal(1023, budget.Used);
        await pipe.Writer.WriteAsync(bytes.AsMemory(bytes.Length - 1));

        Assert.Equal(text, (await arriving)!.Text);
        Assert.Equal(0, budget.Used);
    }

    private static byte[] Frames(params string[] texts)
    {
        using var output = new MemoryStream();
        foreach (var text in texts)
        {
            var message = new Echo { Text = text }.ToByteArray();
            var header = new byte[5];
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), (uint)message.Length);
            output.Write(header);
            output.Write(message);
        }

        return output.ToArray();
    }
}
