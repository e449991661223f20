using System.Buffers;
using System.Buffers.Binary;
using System.Threading.Channels;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Wal.Ingress;
using Wal.Schemas.V1;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// Kestrel with nothing of Wal in it: HTTP/2 on loopback and one terminal handler, no routing, no
/// gRPC layer, no parsing. A unary call is read to its end and answered with a canned
/// gRPC-framed WriteToLogResponse and a grpc-status trailer; a call to the streaming path gets a
/// canned WriteToLogAck per gRPC message it sends. Under the benchmark's loads its rate is what any
/// ingress on Kestrel could reach on this machine at best, so its ratio to the raw producer says
/// whether a target is within reach here at all.
/// Given a producer, each message is first produced to a topic (its bytes under a fresh UUID key,
/// as the ingress spreads writes by id) and answered once its delivery report says it was
/// persisted: Kestrel plus one produce per write and nothing else, the least any ingress on
/// Kestrel that answers durably must do. A stream keeps the ingress's window of unanswered
/// writes (<see cref="IngressOptions.MaxStreamInFlight"/>) and sends whatever acks have queued as
/// one write, as the ingress does.
/// </summary>
internal sealed class BareKestrel : IAsyncDisposable
{
    private static readonly int StreamWindow = new IngressOptions().MaxStreamInFlight;
    private static readonly byte[] Answer = Framed(new WriteToLogResponse { Durable = Trilean.True, Id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" });
    private static readonly byte[] Ack = Framed(new WriteToLogAck
    {
        ClientId = 10_000,
        Response = new WriteToLogResponse { Durable = Trilean.True, Id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" },
    });

    private readonly IProducer<byte[], byte[]>? _producer;
    private readonly string _topic;
    private long _answered;

    private BareKestrel(IProducer<byte[], byte[]>? producer, string topic, WebApplication app)
    {
        _producer = producer;
        _topic = topic;
        App = app;
    }

    public WebApplication App { get; }

    /// <summary>Writes answered as written: canned answers, or, with a producer, writes Kafka persisted.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    public static async Task<BareKestrel> StartAsync(IProducer<byte[], byte[]>? producer, string topic, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var server = new BareKestrel(producer, topic, app);
        app.Run(http => http.Request.Path == WriteAheadLogService.WriteToLogStreamPath ? server.StreamAsync(http) : server.UnaryAsync(http));
        await app.StartAsync(cancellationToken);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    private async Task UnaryAsync(HttpContext http)
    {
        var message = await ReadToEndAsync(http.Request.BodyReader, http.RequestAborted);
        if (_producer is not null && !await ProduceAsync(message))
        {
            http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }

        http.Response.ContentType = "application/grpc";
        await http.Response.Body.WriteAsync(Answer, http.RequestAborted);
        http.Response.AppendTrailer("grpc-status", "0");
        Interlocked.Increment(ref _answered);
    }

    private async Task StreamAsync(HttpContext http)
    {
        http.Response.ContentType = "application/grpc";
        var cancellationToken = http.RequestAborted;
        using var slots = new SemaphoreSlim(StreamWindow, StreamWindow);
        // true: persisted; false: Kafka refused the write, which is released but not counted.
        var reports = Channel.CreateUnbounded<bool>(new UnboundedChannelOptions { SingleReader = true });
        var sending = SendAcksAsync(reports.Reader, http.Response.BodyWriter, slots, cancellationToken);
        var body = http.Request.BodyReader;
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            while (TryTakeMessage(ref buffer, out var message))
            {
                await slots.WaitAsync(cancellationToken);
                if (_producer is null)
                {
                    reports.Writer.TryWrite(true);
                    continue;
                }

                _producer.Produce(_topic, new Message<byte[], byte[]> { Key = NewKey(), Value = message.ToArray() }, report =>
                    reports.Writer.TryWrite(report.Status == PersistenceStatus.Persisted && !report.Error.IsError));
            }

            body.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        // Every slot back: every write read was answered.
        for (var i = 0; i < StreamWindow; i++)
        {
            await slots.WaitAsync(cancellationToken);
        }

        reports.Writer.TryComplete();
        await sending;
        http.Response.AppendTrailer("grpc-status", "0");
    }

    // Whatever reports have queued since the last send go out as one write and one flush.
    private async Task SendAcksAsync(ChannelReader<bool> reports, System.IO.Pipelines.PipeWriter response, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        while (await reports.WaitToReadAsync(cancellationToken))
        {
            var released = 0;
            var persisted = 0;
            while (released < StreamWindow && reports.TryRead(out var written))
            {
                released++;
                if (written)
                {
                    Ack.CopyTo(response.GetSpan(Ack.Length));
                    response.Advance(Ack.Length);
                    persisted++;
                }
            }

            await response.FlushAsync(cancellationToken);
            Interlocked.Add(ref _answered, persisted);
            slots.Release(released);
        }
    }

    // One whole gRPC message (after its 5-byte prefix) off the front of the buffer, if it holds one.
    private static bool TryTakeMessage(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> message)
    {
        message = default;
        if (buffer.Length < 5)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(prefix);
        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        if (buffer.Length < 5 + length)
        {
            return false;
        }

        message = buffer.Slice(5, length);
        buffer = buffer.Slice(5 + length);
        return true;
    }

    // The request's bytes after the 5-byte gRPC prefix: what a produce would carry.
    private static async Task<byte[]> ReadToEndAsync(System.IO.Pipelines.PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            if (read.IsCompleted)
            {
                var message = read.Buffer.Length > 5 ? read.Buffer.Slice(5).ToArray() : [];
                body.AdvanceTo(read.Buffer.End);
                return message;
            }

            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private async Task<bool> ProduceAsync(byte[] message)
    {
        // Continuations off librdkafka's delivery thread, as the ingress's PendingProduce does.
        var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _producer!.Produce(_topic, new Message<byte[], byte[]> { Key = NewKey(), Value = message }, report =>
            answered.TrySetResult(report.Status == PersistenceStatus.Persisted && !report.Error.IsError));
        return await answered.Task;
    }

    private static byte[] NewKey() => System.Text.Encoding.UTF8.GetBytes(Guid.NewGuid().ToString());

    private static byte[] Framed(IMessage message)
    {
        var bytes = new byte[5 + message.CalculateSize()];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)(bytes.Length - 5));
        message.WriteTo(bytes.AsSpan(5));
        return bytes;
    }
}
