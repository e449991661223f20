using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Wal.Sinks.Memcached.Local;
using Wal.Sinks.Upstream;

namespace Wal.Sinks.Tests;

/// <summary>
/// A real upstream application on Kestrel (127.0.0.1): HTTP/1.1 on one port, gRPC (HTTP/2 in
/// clear text) on another. It dedupes by the delivery id header, as the sink's contract asks of
/// upstreams, and keeps what it received across a stop and start on the same ports.
/// </summary>
public sealed class UpstreamServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public UpstreamServerFixture()
    {
        HttpPort = LoopbackPort.Free();
        GrpcPort = LoopbackPort.Free();
    }

    public int HttpPort { get; }

    public int GrpcPort { get; }

    /// <summary>Latest body per item key.</summary>
    public ConcurrentDictionary<string, byte[]> Items { get; } = new();

    /// <summary>Request headers of the last call per item key.</summary>
    public ConcurrentDictionary<string, IHeaderDictionary> Headers { get; } = new();

    public ConcurrentDictionary<string, bool> SeenIds { get; } = new();

    public async Task StartAsync()
    {
        if (_app is not null)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, HttpPort, l => l.Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, GrpcPort, l => l.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.MapPost("/items/{key}", async (string key, HttpRequest request) =>
        {
            var body = await ReadBodyAsync(request);
            Record(key, request, body);
            return Results.Ok();
        });
        app.MapPost("/status/{code:int}", (int code, int? retryAfter, HttpResponse response) =>
        {
            if (retryAfter is { } seconds)
            {
                response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Results.StatusCode(code);
        });
        app.MapPost("/slow", async (CancellationToken aborted) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), aborted);
            return Results.Ok();
        });
        app.MapPost("/wal.test.Items/Put", async (HttpContext context) =>
        {
            var framed = await ReadBodyAsync(context.Request);
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(framed.AsSpan(1));
            Record(context.Request.Query["key"].ToString(), context.Request, framed.AsSpan(5, length).ToArray());
            await GrpcAnswerAsync(context, 0);
        });
        app.MapPost("/wal.test.Items/Fail", async (HttpContext context) =>
        {
            _ = await ReadBodyAsync(context.Request);
            await GrpcAnswerAsync(context, int.Parse(context.Request.Query["status"].ToString()), context.Request.Query["pushbackMs"].ToString());
        });
        app.MapPost("/wal.test.Items/Http", async (HttpContext context) =>
        {
            // An intermediary's answer to a gRPC call: an HTTP status, a grpc-status only when asked for.
            _ = await ReadBodyAsync(context.Request);
            var query = context.Request.Query;
            context.Response.StatusCode = int.Parse(query["code"].ToString());
            context.Response.ContentType = "application/grpc";
            if (query.TryGetValue("grpcStatus", out var grpcStatus))
            {
                context.Response.Headers["grpc-status"] = grpcStatus;
            }

            if (query.TryGetValue("retryAfter", out var retryAfter))
            {
                context.Response.Headers.RetryAfter = retryAfter;
            }
        });
        app.MapPost("/wal.test.Items/Big", async (HttpContext context) =>
        {
            _ = await ReadBodyAsync(context.Request);
            context.Response.ContentType = "application/grpc";
            var chunk = new byte[64 * 1024];
            for (var left = long.Parse(context.Request.Query["bytes"].ToString()); left > 0; left -= chunk.Length)
            {
                await context.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(left, chunk.Length)), context.RequestAborted);
            }

            context.Response.AppendTrailer("grpc-status", "0");
        });
        app.MapPost("/wal.test.Items/Malformed", async (HttpContext context) =>
        {
            _ = await ReadBodyAsync(context.Request);
            context.Response.ContentType = "application/grpc";
            var value = context.Request.Query["value"].ToString();
            if (context.Request.Query["where"] == "headers")
            {
                context.Response.Headers["grpc-status"] = value;
                return;
            }

            await context.Response.Body.WriteAsync(new byte[5]);
            context.Response.AppendTrailer("grpc-status", value);
        });
        app.MapPost("/wal.test.Items/Reset", async (HttpContext context) =>
        {
            _ = await ReadBodyAsync(context.Request);
            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(new byte[5]);
            await context.Response.Body.FlushAsync();
            context.Abort();
        });
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public Task InitializeAsync() => StartAsync();

    public Task DisposeAsync() => StopAsync();

    private void Record(string key, HttpRequest request, byte[] body)
    {
        var id = request.Headers[UpstreamSink.DeliveryIdHeader].ToString();
        if (SeenIds.TryAdd(id, true))
        {
            Items[key] = body;
            Headers[key] = new HeaderDictionary(request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
        }
    }

    private static async Task GrpcAnswerAsync(HttpContext context, int status, string pushbackMs = "")
    {
        context.Response.ContentType = "application/grpc";
        await context.Response.Body.WriteAsync(new byte[5]);
        context.Response.AppendTrailer("grpc-status", status.ToString());
        if (pushbackMs.Length > 0)
        {
            context.Response.AppendTrailer("grpc-retry-pushback-ms", pushbackMs);
        }

        if (status != 0)
        {
            context.Response.AppendTrailer("grpc-message", "failed%20on%20purpose");
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
