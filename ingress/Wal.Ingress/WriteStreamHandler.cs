using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wal.Grpc;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// WriteToLogStream: every request becomes a write of its own, answered by an acknowledgement
/// carrying its client_id, in completion order. A slot is taken before reading a request and
/// given back only once its acknowledgement is written, so at most
/// <see cref="IngressOptions.MaxStreamInFlight"/> requests are held per stream: when they are,
/// the server stops reading and HTTP/2 flow control pushes back on the caller.
/// When the instance begins to stop, the call starts no further write, acknowledges every
/// request it had started, says so with an <c>ending</c> message, waits (briefly) for the caller
/// to half-close, and ends with UNAVAILABLE: a request without an acknowledgement was not
/// written, and the caller sends it to another instance. Every end that acknowledged all it read
/// says so in <see cref="WriteToLogStreamMetadata.AllReadAcknowledged"/>.
/// A caller that stops reading acknowledgements shuts its HTTP/2 window, and the call could hold its
/// stream, its handler and up to MaxStreamInFlight acks for as long as the connection lives: once a
/// flush of acks (at most 64 KiB of them) could not be handed over within
/// <see cref="IngressOptions.StreamAckTimeout"/>, the stream is reset (ENHANCE_YOUR_CALM). The writes
/// among them that Kafka took are durable, but their callers were never told: to them they are UNKNOWN.
/// </summary>
public sealed partial class WriteStreamHandler(LogWriter writer, IngressOptions options, IHostApplicationLifetime lifetime, ILogger<WriteStreamHandler> logger)
{
    // RST_STREAM code that gRPC clients report as RESOURCE_EXHAUSTED. A status in trailers would
    // queue behind the acks the caller does not read, and never arrive.
    private const int EnhanceYourCalm = 0xb;

    // The most acks (by size) one flush carries. Kestrel completes a flush only once the caller's
    // window has taken all of it, so the ack timer, which runs per flush, measures how long the
    // caller takes to read this much: a whole batch (up to MaxStreamInFlight acks) read slowly
    // outlasted the timer while acks were flowing. HTTP/2's default stream window: a caller that
    // reads at all takes this much at once, and a batch of the default 1000 acks (about 70 KB)
    // goes in two flushes, where 16 KiB pieces took five and cost streamed writes a tenth more CPU.
    private const int MaxFlushBytes = 64 * 1024;

    private const string ShuttingDown = "The ingress is shutting down: every request read on this stream was acknowledged; send the rest to another instance.";

    public async Task HandleAsync(IAsyncStreamReader<WriteToLogRequest> requests, IServerStreamWriter<WriteToLogAck> responses, GrpcCallContext context)
    {
        // Read before the ack sender starts: a throw here must not leave it waiting on a channel nobody completes.
        var caller = CallerIdentity.From(context.HttpContext);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var token = stop.Token;
        // Only reading ends at shutdown; the writes already read keep the call's token.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(token, lifetime.ApplicationStopping);
        using var slots = new SemaphoreSlim(options.MaxStreamInFlight, options.MaxStreamInFlight);
        var acks = Channel.CreateUnbounded<WriteToLogAck>(new UnboundedChannelOptions { SingleReader = true });
        var listener = new AckQueue(acks.Writer);
        var sending = SendAcksAsync(acks.Reader, responses, slots, stop, context.HttpContext);
        // Slots the reader holds itself: the one taken for a request not yet read or started.
        var held = 0;
        try
        {
            try
            {
                while (true)
                {
                    await slots.WaitAsync(reading.Token);
                    held = 1;
                    if (!await requests.MoveNextAsync(reading.Token))
                    {
                        break;
                    }

                    Start(requests.Current, caller, listener, token);
                    held = 0;
                }
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                // Shutdown, a bad frame or a bad message ends the call, but the writes already
                // handed to Kafka are answered first: ending now would drop their acks, and a
                // caller reading the error as "not written" would be wrong about them.
                await AllAcknowledgedAsync(slots, held, token);
                if (e is OperationCanceledException && lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    acks.Writer.TryComplete();
                    await sending;
                    await EndWhenTheCallerHalfClosesAsync(requests, responses, options.StreamEndingGrace, token);
                    MarkAllReadAcknowledged(context);
                    throw new RpcException(StatusCode.Unavailable, ShuttingDown);
                }

                MarkAllReadAcknowledged(context);
                throw;
            }

            await AllAcknowledgedAsync(slots, held, token);
            MarkAllReadAcknowledged(context);
        }
        finally
        {
            acks.Writer.TryComplete();
            await stop.CancelAsync();
            await sending;
        }
    }

    // Every slot back means every request read was acknowledged on the wire; the reader holds
    // `held` of them itself.
    private async Task AllAcknowledgedAsync(SemaphoreSlim slots, int held, CancellationToken cancellationToken)
    {
        for (var i = held; i < options.MaxStreamInFlight; i++)
        {
            await slots.WaitAsync(cancellationToken);
        }
    }

    // The instance is stopping, and every request started has its ack on the wire. The call ends
    // once the caller, told so, half-closes: HTTP/2 then closes the stream on both sides before
    // the instance closes the connection. Ended with the request side open, the stream is left to
    // Kestrel's RST_STREAM, which can lose the race with the connection's close; .NET's client
    // then fails the stream and throws away the acks it had received but not yet read. What
    // arrives meanwhile is read only to reach the end, and not written.
    private static async Task EndWhenTheCallerHalfClosesAsync(IAsyncStreamReader<WriteToLogRequest> requests, IServerStreamWriter<WriteToLogAck> responses, TimeSpan grace, CancellationToken cancellationToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waiting.CancelAfter(grace);
        try
        {
            await responses.WriteAsync(new WriteToLogAck { Ending = true }, flush: true, waiting.Token);
            while (await requests.MoveNextAsync(waiting.Token))
            {
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The grace period ran out, or the caller broke the stream: the call ends all the same.
        }
    }

    // The caller is told that a request without an acknowledgement was not read, so not written.
    // A response that has not started carries no ack, and the mark goes with the status in its
    // one HEADERS frame.
    private static void MarkAllReadAcknowledged(GrpcCallContext context)
    {
        var response = context.HttpContext.Response;
        if (!response.HasStarted)
        {
            response.Headers[WriteToLogStreamMetadata.AllReadAcknowledged] = "true";
        }
        else if (response.SupportsTrailers())
        {
            response.AppendTrailer(WriteToLogStreamMetadata.AllReadAcknowledged, "true");
        }
    }

    private void Start(WriteToLogRequest request, CallerIdentity caller, AckQueue listener, CancellationToken cancellationToken)
    {
        try
        {
            writer.Start(request, caller, listener, cancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An answer for every request, even this one: the caller may not guess.
            listener.OnAnswered(request.ClientId, new WriteResult(StatusCode.Unknown, new WriteToLogResponse
            {
                Durable = Trilean.Unknown,
                Id = request.Id,
                Message = "The write failed unexpectedly; it may or may not be durable.",
            }));
        }
    }

    private async Task SendAcksAsync(ChannelReader<WriteToLogAck> acks, IServerStreamWriter<WriteToLogAck> responses, SemaphoreSlim slots, CancellationTokenSource stop, HttpContext http)
    {
        // Whatever has queued since the last send goes out as one write and one flush, up to MaxFlushBytes.
        // Armed only while a flush waits: a flush waits until the caller's window lets all its acks
        // out, and nothing else ends that wait. The stream is reset rather than the flush
        // cancelled: Kestrel answers a cancelled flush with its own reset, INTERNAL_ERROR, which a
        // caller would read as a fault of the server's.
        using var stalled = new CancellationTokenSource();
        using var resetWhenStalled = stalled.Token.UnsafeRegister(_ => ResetStalled(http), null);
        try
        {
            while (await acks.WaitToReadAsync(stop.Token))
            {
                stalled.CancelAfter(options.StreamAckTimeout);
                var sent = await responses.WriteAvailableAsync(acks, MaxFlushBytes, stop.Token);
                stalled.CancelAfter(Timeout.InfiniteTimeSpan);
                slots.Release(sent);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch
        {
            // The reader loop waits on slots this loop will never give back: stop it too.
            await stop.CancelAsync();
            throw;
        }
    }

    // The reset aborts the request, which cancels the call's token: the pending flush and the
    // reader loop end with it.
    private void ResetStalled(HttpContext http)
    {
        Stalled(logger, http.Connection.RemoteIpAddress, options.StreamAckTimeout);
        if (http.Features.Get<IHttpResetFeature>() is { } reset)
        {
            reset.Reset(EnhanceYourCalm);
        }
        else
        {
            http.Abort();
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "A WriteToLogStream call from {Peer} could hand no acknowledgement over for {Timeout} (its window stayed shut); its stream was reset")]
    private static partial void Stalled(ILogger logger, System.Net.IPAddress? peer, TimeSpan timeout);

    // Runs on Kafka's delivery thread: queueing the ack is all it does, and a burst of delivery
    // reports wakes the sender once.
    private sealed class AckQueue(ChannelWriter<WriteToLogAck> acks) : IWriteListener
    {
        public void OnAnswered(ulong clientId, WriteResult result)
        {
            var ack = new WriteToLogAck { ClientId = clientId, Response = result.Response, Status = (int)result.Code };
            // A stream's ack has no trailers of its own: the pushback a unary call would end with goes in the ack.
            if (result.RetryPushback is { } pushback)
            {
                ack.RetryPushbackMs = RpcException.PushbackMilliseconds(pushback);
            }

            acks.TryWrite(ack);
        }
    }
}
