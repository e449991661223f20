using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wal.Schemas.V1;

namespace Wal.Client.Tests;

/// <summary>
/// Kestrel on h2c answering WriteToLog the way the request's id asks, down to the bytes on the
/// wire, so the client meets every answer a server (or a broken proxy) can give:
/// <c>ok</c>; <c>status:N</c> (trailers-only); <c>status:N:detail:D</c> (with a google.rpc.Status
/// holding a WriteToLogResponse of durability D); <c>garbled-status</c>; <c>garbled-body</c>;
/// <c>garbled-details</c>; <c>shed:MS:N:tag</c> (RESOURCE_EXHAUSTED with <c>grpc-retry-pushback-ms</c> MS, or
/// none when MS is <c>none</c>, the first N times the id arrives; then <c>ok</c>); <c>http:N</c>; <c>silent</c> (never answers); <c>abort</c> (resets the
/// stream after reading the message); <c>stream-shed:…</c> and <c>stream-shed-one:…</c> (<c>ok</c>: the unary retry of a
/// write a stream shed); <c>stream-shed-again:MS:tag</c> (RESOURCE_EXHAUSTED with pushback MS every time: a stream write's
/// unary retry shed as well).
/// WriteToLogStream has scripts of its own (AnswerStreamAsync).
/// </summary>
public sealed class ScriptedIngress : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri Address { get; private set; } = null!;

    /// <summary>The grpc-timeout header of every request, in arrival order.</summary>
    public ConcurrentQueue<string> Timeouts { get; } = new();

    /// <summary>The id (script) of every request, in arrival order.</summary>
    public ConcurrentQueue<string> Ids { get; } = new();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        _app = builder.Build();
        _app.MapPost("/wal.v1.WriteAheadLog/WriteToLog", AnswerAsync);
        _app.MapPost("/wal.v1.WriteAheadLog/WriteToLogStream", AnswerStreamAsync);
        await _app.StartAsync();
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private async Task AnswerAsync(HttpContext http)
    {
        Timeouts.Enqueue(http.Request.Headers["grpc-timeout"].ToString());
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        var request = WriteToLogRequest.Parser.ParseFrom(buffer.ToArray().AsSpan(5));
        Ids.Enqueue(request.Id);
        var script = request.Id.Split(':');
        var response = http.Response;
        response.ContentType = "application/grpc";
        switch (script[0])
        {
            case "ok" or "stream-shed" or "stream-shed-one":
                await response.Body.WriteAsync(Frame(new WriteToLogResponse { Durable = Trilean.True, Id = request.Id }));
                response.AppendTrailer("grpc-status", "0");
                break;
            case "status":
                response.Headers["grpc-status"] = script[1];
                response.Headers["grpc-message"] = "scripted%20refusal";
                if (script.Length == 4)
                {
                    response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(StatusWith(int.Parse(script[1], System.Globalization.CultureInfo.InvariantCulture), System.Enum.Parse<Trilean>(script[3]), request.Id)).TrimEnd('=');
                }

                break;
            case "shed" when Ids.Count(id => id == request.Id) <= int.Parse(script[2], System.Globalization.CultureInfo.InvariantCulture):
                response.Headers["grpc-status"] = "8";
                response.Headers["grpc-message"] = "shed";
                if (script[1] != "none")
                {
                    response.Headers["grpc-retry-pushback-ms"] = script[1];
                }

                break;
            case "stream-shed-again":
                response.Headers["grpc-status"] = "8";
                response.Headers["grpc-message"] = "shed";
                response.Headers["grpc-retry-pushback-ms"] = script[1];
                break;
            case "shed":
                await response.Body.WriteAsync(Frame(new WriteToLogResponse { Durable = Trilean.True, Id = request.Id }));
                response.AppendTrailer("grpc-status", "0");
                break;
            case "ok-empty":
                // OK with an empty message: no durability answer at all.
                await response.Body.WriteAsync(Frame([]));
                response.AppendTrailer("grpc-status", "0");
                break;
            case "garbled-status":
                response.Headers["grpc-status"] = "not-a-number";
                break;
            case "garbled-body":
                await response.Body.WriteAsync(Frame([0x0F, 0x01]));
                response.AppendTrailer("grpc-status", "0");
                break;
            case "garbled-details":
                response.Headers["grpc-status"] = "8";
                response.Headers["grpc-status-details-bin"] = "***";
                break;
            case "refused":
                // Refuses the call unprocessed every time HTTP/2 sends it: nothing was written.
                http.Features.Get<IHttpResetFeature>()!.Reset(RefusedStream);
                break;
            case "abort":
                // Takes the message, then resets the stream: lost after sending, as far as the caller knows.
                http.Abort();
                break;
            case "silent":
                // Takes the message and never answers: the caller's deadline ends the call.
                await Task.Delay(Timeout.Infinite, http.RequestAborted);
                break;
            case "http":
                response.StatusCode = int.Parse(script[1], System.Globalization.CultureInfo.InvariantCulture);
                break;
            default:
                throw new InvalidOperationException($"no script '{request.Id}'");
        }
    }

    // WriteToLogStream: reads two requests, then does as the first's id says: "stream-abort" resets
    // the stream; "stream-refused" ends trailers-only with RESOURCE_EXHAUSTED and no mark;
    // "stream-unavailable" acknowledges the first TRUE and ends with UNAVAILABLE without
    // the wal-all-read-acknowledged mark, as a proxy would; "stream-empty-ack" acknowledges
    // both with status OK and no response; "stream-silent" answers nothing and waits;
    // "stream-ending" acknowledges the first TRUE, says the call is ending (as a stopping ingress
    // does), waits for the half-close, notes it, and then drops the stream as a closing
    // connection may; "stream-refused-once" resets its first call with REFUSED_STREAM (as a
    // server does that takes no new streams, which tells HTTP/2 to try the request again) and
    // acknowledges both writes TRUE when they come again; "stream-refused-once-half-closed" does
    // the same once the client has half-closed the first call; "stream-shed:MS:tag" sheds the first
    // (RESOURCE_EXHAUSTED, retry_pushback_ms MS, unset when MS is "none") and acknowledges the second TRUE, as does
    // "stream-shed-again:MS:tag" (whose unary retry is shed too); "stream-shed-one:MS:tag" sheds the first before it reads
    // the second, whose arrival it notes as "stream: <id>", and acknowledges that TRUE.
    private async Task AnswerStreamAsync(HttpContext http)
    {
        var first = await ReadRequestAsync(http.Request.Body);
        Ids.Enqueue(first.Id);
        if (first.Id.StartsWith("stream-shed-one:", StringComparison.Ordinal))
        {
            http.Response.ContentType = "application/grpc";
            await http.Response.Body.WriteAsync(Frame(new WriteToLogAck
            {
                ClientId = first.ClientId,
                Status = 8,
                RetryPushbackMs = long.Parse(first.Id.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture),
                Response = new WriteToLogResponse { Durable = Trilean.False, Id = first.Id, Message = "shed" },
            }));
            await http.Response.Body.FlushAsync();
            var next = await ReadRequestAsync(http.Request.Body);
            Ids.Enqueue($"stream: {next.Id}");
            await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { ClientId = next.ClientId, Response = new WriteToLogResponse { Durable = Trilean.True, Id = next.Id } }));
            http.Response.AppendTrailer("grpc-status", "0");
            return;
        }

        var second = await ReadRequestAsync(http.Request.Body);
        switch (first.Id.StartsWith("stream-shed:", StringComparison.Ordinal) || first.Id.StartsWith("stream-shed-again:", StringComparison.Ordinal) ? "stream-shed" : first.Id)
        {
            case "stream-shed":
                var shed = new WriteToLogAck { ClientId = first.ClientId, Status = 8, Response = new WriteToLogResponse { Durable = Trilean.False, Id = first.Id, Message = "shed" } };
                if (first.Id.Split(':')[1] is var pushback and not "none")
                {
                    shed.RetryPushbackMs = long.Parse(pushback, System.Globalization.CultureInfo.InvariantCulture);
                }

                http.Response.ContentType = "application/grpc";
                await http.Response.Body.WriteAsync(Frame(shed));
                await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { ClientId = second.ClientId, Response = new WriteToLogResponse { Durable = Trilean.True, Id = second.Id } }));
                http.Response.AppendTrailer("grpc-status", "0");
                break;
            case "stream-refused-once" or "stream-refused-once-half-closed" when Ids.Count(id => id == first.Id) == 1:
                if (first.Id.EndsWith("half-closed", StringComparison.Ordinal))
                {
                    await http.Request.Body.CopyToAsync(Stream.Null);
                }

                http.Features.Get<IHttpResetFeature>()!.Reset(RefusedStream);
                break;
            case "stream-refused-always":
                http.Features.Get<IHttpResetFeature>()!.Reset(RefusedStream);
                break;
            case "stream-refused-once" or "stream-refused-once-half-closed":
                http.Response.ContentType = "application/grpc";
                foreach (var write in new[] { first, second })
                {
                    await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { ClientId = write.ClientId, Response = new WriteToLogResponse { Durable = Trilean.True, Id = write.Id } }));
                }

                http.Response.AppendTrailer("grpc-status", "0");
                break;
            case "stream-abort":
                http.Abort();
                break;
            case "stream-refused":
                // Trailers-only, a refusal code, no mark: as a proxy, or a call cut short, may end.
                http.Response.ContentType = "application/grpc";
                http.Response.Headers["grpc-status"] = "8";
                break;
            case "stream-unavailable":
                http.Response.ContentType = "application/grpc";
                await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { ClientId = first.ClientId, Response = new WriteToLogResponse { Durable = Trilean.True, Id = first.Id } }));
                http.Response.AppendTrailer("grpc-status", "14");
                break;
            case "stream-silent":
                // Reads both writes, answers nothing, and waits: a hung peer.
                Ids.Enqueue("stream-silent: both read");
                http.Response.ContentType = "application/grpc";
                await http.Response.Body.FlushAsync(http.RequestAborted);
                await Task.Delay(Timeout.Infinite, http.RequestAborted);
                break;
            case "stream-ending":
                http.Response.ContentType = "application/grpc";
                await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { ClientId = first.ClientId, Response = new WriteToLogResponse { Durable = Trilean.True, Id = first.Id } }));
                await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { Ending = true }));
                await http.Response.Body.FlushAsync();
                using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                {
                    await http.Request.Body.CopyToAsync(Stream.Null, waiting.Token);
                }

                Ids.Enqueue("stream-ending: half-closed");
                http.Abort();
                break;
            case "stream-empty-ack":
                http.Response.ContentType = "application/grpc";
                await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { ClientId = first.ClientId }));
                await http.Response.Body.WriteAsync(Frame(new WriteToLogAck { ClientId = second.ClientId, Response = new WriteToLogResponse { Id = second.Id } }));
                http.Response.AppendTrailer("grpc-status", "0");
                break;
            default:
                throw new InvalidOperationException($"no stream script '{first.Id}'");
        }
    }

    // HTTP/2's REFUSED_STREAM: the stream was closed before any of it was processed.
    private const int RefusedStream = 0x7;

    private static async Task<WriteToLogRequest> ReadRequestAsync(Stream body)
    {
        var prefix = new byte[5];
        await body.ReadExactlyAsync(prefix);
        var message = new byte[BinaryPrimitives.ReadUInt32BigEndian(prefix.AsSpan(1))];
        await body.ReadExactlyAsync(message);
        return WriteToLogRequest.Parser.ParseFrom(message);
    }

    // The server side's own type for the trailer, so the client's hand-written reading of it is checked against it.
    private static byte[] StatusWith(int code, Trilean durable, string id) =>
        new Wal.Grpc.Rpc.Status
        {
            Code = code,
            Message = "scripted refusal",
            Details = { Any.Pack(new WriteToLogResponse { Durable = durable, Id = id, Message = "the server's reason" }) },
        }.ToByteArray();

    private static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    private static byte[] Frame(byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }
}
