using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Wal.Grpc;

/// <summary>
/// Reads length-prefixed gRPC messages from a request body pipe. A message is parsed straight from
/// the pipe's pooled segments; nothing is copied unless protobuf itself needs to. One pipe read
/// serves every complete message it holds: the buffer is kept between calls and given back only
/// when it has no whole message left, so a stream of small messages costs one read and one
/// advance per batch, not per message.
/// A message found incomplete holds the bytes of it buffered so far from <paramref name="budget"/>
/// (when given), growing as more arrives, until it is whole or the reader is disposed with its call;
/// with <paramref name="arrival"/>, for at most its time.
/// </summary>
internal sealed class GrpcFrameReader(PipeReader reader, int maxMessageSize, GrpcReceiveBudget? budget = null, MessageArrival? arrival = null) : IDisposable
{
    // What the message now arriving holds of the budget (its bytes buffered so far, past the header); 0 when none is held.
    private long _taken;
    private uint _arrivingLength;
    private ITimer? _arrivalTimer;
    private long _arrivalStarted;

    // The part of the last read not yet parsed, while it is held (not yet advanced past).
    private ReadOnlySequence<byte> _held;
    private SequencePosition _heldEnd;
    private bool _holding;

    /// <summary>The next message, or null at a clean end of the stream.</summary>
    /// <exception cref="RpcException">The frame or the message breaks the protocol or a limit.</exception>
    public ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        if (_holding)
        {
            var buffer = _held;
            if (TryReadFrame(ref buffer, out var payload))
            {
                _held = buffer;
                return new ValueTask<T?>(Parse(parser, payload));
            }

            // Nothing whole is left: what remains is the start of a message still arriving.
            _holding = false;
            reader.AdvanceTo(_held.Start, _heldEnd);
        }

        return ReadFromPipeAsync(parser, cancellationToken);
    }

    private async ValueTask<T?> ReadFromPipeAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (TryReadFrame(ref buffer, out var payload))
            {
                // Whole, even if the timer cancelled this read: it came before the reader took it.
                _held = buffer;
                _heldEnd = result.Buffer.End;
                _holding = true;
                return Parse(parser, payload);
            }

            if (result.IsCanceled)
            {
                OverdueArrival(buffer);
            }

            if (result.IsCompleted)
            {
                var leftover = buffer.Length;
                reader.AdvanceTo(buffer.End);
                return leftover == 0
                    ? null
                    : throw new RpcException(StatusCode.Internal, "Incomplete message: the request stream ended inside a frame.");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (buffer.Length < GrpcProtocol.FrameHeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderSize];
        buffer.Slice(0, GrpcProtocol.FrameHeaderSize).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        // Checked on the header alone, so an oversized message is refused before it is buffered.
        if (length > (uint)maxMessageSize)
        {
            budget?.OnRefused("message_size");
            // Too large for any retry, though the status is the one clients retry: the pushback tells them not to.
            throw new RpcException(
                StatusCode.ResourceExhausted,
                $"Received message of {length} bytes exceeds the limit of {maxMessageSize} bytes.")
            {
                RetryPushback = Timeout.InfiniteTimeSpan,
            };
        }

        switch (header[0])
        {
            case 0:
                break;
            case 1:
                // Only identity is accepted (other encodings are refused before reading), so a
                // compressed message here is a client bug.
                throw new RpcException(
                    StatusCode.Internal, "Received a compressed message but no grpc-encoding was negotiated.");
            default:
                throw new RpcException(StatusCode.Internal, $"Invalid message flags 0x{header[0]:X2}.");
        }

        if (buffer.Length - GrpcProtocol.FrameHeaderSize < length)
        {
            // Everything buffered past the header is the start of this message. The header is not
            // counted, so a message of the largest size fits a budget of that size.
            Hold(buffer.Length - GrpcProtocol.FrameHeaderSize, length);
            return false;
        }

        GiveBack();
        payload = buffer.Slice(GrpcProtocol.FrameHeaderSize, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>Gives back what a message still arriving held of the budget: its call has ended.</summary>
    public void Dispose()
    {
        GiveBack();
        _arrivalTimer?.Dispose();
    }

    // The arrival timer cancelled the pending read. Past the message's time, its call ends; a timer that fired as the
    // message became whole (or a moment early) changes nothing, and an early one is set again for the time left.
    private void OverdueArrival(ReadOnlySequence<byte> buffer)
    {
        if (_taken == 0 || arrival is not { } limit)
        {
            return;
        }

        var left = limit.MaxTime - limit.Time.GetElapsedTime(_arrivalStarted);
        if (left > TimeSpan.Zero)
        {
            _arrivalTimer!.Change(left, Timeout.InfiniteTimeSpan);
            return;
        }

        reader.AdvanceTo(buffer.Start, buffer.End);
        budget?.OnRefused("arrival_time");
        throw new RpcException(
            StatusCode.ResourceExhausted,
            $"The message of {_arrivingLength} bytes began arriving {limit.MaxTime.TotalSeconds:0.###} s ago and only {_taken} bytes of it came; the server does not hold a message still arriving longer than that. Send it again.");
    }

    // The bytes buffered, not the length the header declares: a header costs its sender five bytes,
    // and holding the length it declares would let a few streams, each sending one header and
    // nothing more, hold the whole budget and refuse every message that arrives in more than one read.
    private void Hold(long buffered, uint length)
    {
        if (budget is null || buffered <= _taken)
        {
            return;
        }

        if (!budget.TryTake(buffered - _taken))
        {
            budget.OnRefused("receiving_bytes");
            throw new RpcException(
                StatusCode.ResourceExhausted,
                $"The server is already receiving {budget.Used - _taken} bytes of other messages not yet whole (its bound is {budget.MaxBytes}); this message of {length} bytes does not fit now. Retry later or at another instance.");
        }

        if (_taken == 0 && arrival is { } limit)
        {
            // The message starts holding part of the budget: from now it has its time to arrive whole.
            _arrivalStarted = limit.Time.GetTimestamp();
            _arrivalTimer ??= limit.Time.CreateTimer(static pipe => CancelRead((PipeReader)pipe!), reader, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _arrivalTimer.Change(limit.MaxTime, Timeout.InfiniteTimeSpan);
        }

        _taken = buffered;
        _arrivingLength = length;
    }

    // On a timer thread, where a throw ends the process. Kestrel's request reader throws once the client reset
    // the stream (the abort reason) or the request ended (ObjectDisposedException), and a callback already under
    // way may run after Dispose: the read it would cancel has ended, or will, without it.
    private static void CancelRead(PipeReader pipe)
    {
        try
        {
            pipe.CancelPendingRead();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
        }
    }

    private void GiveBack()
    {
        if (_taken != 0)
        {
            budget!.Give(_taken);
            _taken = 0;
            _arrivalTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException)
        {
            throw new RpcException(
                StatusCode.InvalidArgument, $"The request is not a valid {typeof(T).Name} protobuf message.");
        }
    }
}

/// <summary>How long a message that holds part of the receive budget may take to arrive whole, on which clock.</summary>
internal sealed record MessageArrival(TimeSpan MaxTime, TimeProvider Time);
