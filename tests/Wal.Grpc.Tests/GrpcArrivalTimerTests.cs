using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

/// <summary>
/// The arrival timer of a message holding part of the receive budget, driven by a clock the test moves, against a
/// body reader that behaves as Kestrel's does.
/// </summary>
public sealed class GrpcArrivalTimerTests
{
    private static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(30);

    // Kestrel's HttpRequestPipeReader validates its state on every call, CancelPendingRead included: once the
    // client reset the stream (PoisonBody) it throws the abort reason, and once the request has ended
    // (StopAcceptingReads) ObjectDisposedException. The arrival timer is a System.Threading.Timer in production:
    // whatever its callback throws is unhandled on a thread-pool thread and ends the process.
    [Fact]
    public async Task TimerComesDueAfterTheClientResetTheStreamBeforeTheCallDisposedTheReader_CallbackDoesNotThrow()
    {
        var time = new ManualTimeProvider();
        var pipe = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var body = new KestrelLikeBody(pipe.Reader);
        var budget = new GrpcReceiveBudget(1 << 20);
        var reader = new GrpcFrameReader(body, 1024, budget, new MessageArrival(MaxTime, time));
        await pipe.Writer.WriteAsync(Partial(declared: 100, sent: 10));
        var read = reader.ReadAsync(Echo.Parser, default).AsTask();
        Assert.Equal(10, budget.Used);

        // The client resets the stream mid-message: Kestrel poisons the body and completes its pipe with the reason.
        var reset = new IOException("The client reset the request stream.");
        body.Abort(reset);
        await pipe.Writer.CompleteAsync(reset);
        await Assert.ThrowsAsync<IOException>(() => read);

        // The handler is still unwinding (the call has not disposed the reader) when the message's time runs out.
        var fired = Record.Exception(() => time.Advance(MaxTime));
        reader.Dispose();

        Assert.True(fired is null, $"the arrival timer's callback threw {fired?.GetType().Name}: {fired?.Message}");
        Assert.Equal(0, budget.Used);
    }

    // The comment on OverdueArrival: "a timer that fired as the message became whole changes nothing". The pipe
    // hands the reader its continuation through a scheduler (Kestrel's is the thread pool), and a read's
    // IsCanceled is decided when the reader takes its result, not when the data came.
    [Fact]
    public async Task MessageWholeBeforeItsTime_TimerFiresBeforeTheReaderTakesTheResult_MessageIsRead()
    {
        var time = new ManualTimeProvider();
        var scheduler = new QueuedScheduler();
        var pipe = new Pipe(new PipeOptions(readerScheduler: scheduler, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        var budget = new GrpcReceiveBudget(1 << 20);
        var reader = new GrpcFrameReader(pipe.Reader, 1024, budget, new MessageArrival(MaxTime, time));
        var frame = Frame(new Echo { Text = "late-but-whole", Data = ByteString.CopyFrom(new byte[200]) });
        await pipe.Writer.WriteAsync(frame.AsMemory(0, 50));
        var read = reader.ReadAsync(Echo.Parser, default).AsTask();
        Assert.False(read.IsCompleted);

        // The rest arrives a second before the message's time is up; the reader has not run yet.
        time.Advance(MaxTime - TimeSpan.FromSeconds(1));
        await pipe.Writer.WriteAsync(frame.AsMemory(50));
        time.Advance(TimeSpan.FromSeconds(1));
        scheduler.RunAll();

        var message = await read.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("late-but-whole", message!.Text);
        reader.Dispose();
    }

    private static byte[] Partial(uint declared, int sent)
    {
        var bytes = new byte[5 + sent];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), declared);
        return bytes;
    }

    private static byte[] Frame(IMessage message)
    {
        var payload = message.ToByteArray();
        var bytes = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(bytes, 5);
        return bytes;
    }

    private sealed class KestrelLikeBody(PipeReader inner) : PipeReader
    {
        private Exception? _aborted;

        public void Abort(Exception reason) => _aborted = reason;

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            Validate();
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead()
        {
            Validate();
            inner.CancelPendingRead();
        }

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            Validate();
            return inner.ReadAsync(cancellationToken);
        }

        public override bool TryRead(out ReadResult result)
        {
            Validate();
            return inner.TryRead(out result);
        }

        private void Validate()
        {
            if (_aborted is { } reason)
            {
                throw reason;
            }
        }
    }

    private sealed class QueuedScheduler : PipeScheduler
    {
        private readonly Queue<(Action<object?> Action, object? State)> _queued = new();

        public override void Schedule(Action<object?> action, object? state)
        {
            lock (_queued)
            {
                _queued.Enqueue((action, state));
            }
        }

        public void RunAll()
        {
            while (true)
            {
                (Action<object?> Action, object? State) next;
                lock (_queued)
                {
                    if (!_queued.TryDequeue(out next))
                    {
                        return;
                    }
                }

                next.Action(next.State);
            }
        }
    }
}
