using System.Threading.Channels;
using Wal.Grpc;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// WriteToLogStream: every request becomes a write of its own, answered by an acknowledgement
/// carrying its client_id, in completion order. A slot is taken before reading a request and
/// given back only once its acknowledgement is written, so at most
/// <see cref="IngressOptions.MaxStreamInFlight"/> requests are held per stream: when they are,
/// the server stops reading and HTTP/2 flow control pushes back on the caller.
/// </summary>
public sealed class WriteStreamHandler(LogWriter writer, IngressOptions options)
{
    public async Task HandleAsync(IAsyncStreamReader<WriteToLogRequest> requests, IServerStreamWriter<WriteToLogAck> responses, GrpcCallContext context)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var token = stop.Token;
        using var slots = new SemaphoreSlim(options.MaxStreamInFlight, options.MaxStreamInFlight);
        var acks = Channel.CreateUnbounded<WriteToLogAck>(new UnboundedChannelOptions { SingleReader = true });
        var listener = new AckQueue(acks.Writer);
        var sending = SendAcksAsync(acks.Reader, responses, slots, stop);
        var caller = CallerIdentity.From(context.HttpContext);
        try
        {
            while (true)
            {
                await slots.WaitAsync(token);
                bool more;
                try
                {
                    more = await requests.MoveNextAsync(token);
                }
                catch (Exception) when (!token.IsCancellationRequested)
                {
                    // A bad frame or message ends the call with its error, but the writes already
                    // handed to Kafka are answered first: ending now would drop their acks, and a
                    // caller reading the error as "not written" would be wrong about them.
                    slots.Release();
                    await AllAcknowledgedAsync(slots, token);
                    throw;
                }

                if (!more)
                {
                    slots.Release();
                    break;
                }

                Start(requests.Current, caller, listener, token);
            }

            await AllAcknowledgedAsync(slots, token);
        }
        finally
        {
            acks.Writer.TryComplete();
            await stop.CancelAsync();
            await sending;
        }
    }

    // Every slot back means every request read was acknowledged on the wire.
    private async Task AllAcknowledgedAsync(SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        for (var i = 0; i < options.MaxStreamInFlight; i++)
        {
            await slots.WaitAsync(cancellationToken);
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

    private static async Task SendAcksAsync(ChannelReader<WriteToLogAck> acks, IServerStreamWriter<WriteToLogAck> responses, SemaphoreSlim slots, CancellationTokenSource stop)
    {
        // Whatever has queued since the last send goes out as one write and one flush.
        var batch = new List<WriteToLogAck>();
        try
        {
            while (await acks.WaitToReadAsync(stop.Token))
            {
                while (acks.TryRead(out var ack))
                {
                    batch.Add(ack);
                }

                await responses.WriteAllAsync(batch, stop.Token);
                slots.Release(batch.Count);
                batch.Clear();
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

    // Runs on Kafka's delivery thread: queueing the ack is all it does, and a burst of delivery
    // reports wakes the sender once.
    private sealed class AckQueue(ChannelWriter<WriteToLogAck> acks) : IWriteListener
    {
        public void OnAnswered(ulong clientId, WriteResult result) =>
            acks.TryWrite(new WriteToLogAck { ClientId = clientId, Response = result.Response });
    }
}
