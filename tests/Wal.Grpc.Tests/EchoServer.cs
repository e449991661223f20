using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wal.Grpc.Tests.Proto;

namespace Wal.Grpc.Tests;

/// <summary>Kestrel on 127.0.0.1 (random port) serving test methods through Wal.Grpc.</summary>
public sealed class EchoServer : IAsyncLifetime
{
    public const string Unary = "/test.v1.EchoService/Unary";
    public const string Duplex = "/test.v1.EchoService/Duplex";
    public const int MaxMessageSize = 64 * 1024;

    private WebApplication? _app;

    public ListLoggerProvider Logs { get; } = new();

    /// <summary>The server's bound on bytes of messages still arriving; set before it starts.</summary>
    public long MaxReceivingBytes { get; init; } = new GrpcServerOptions().MaxReceivingBytes;

    public TimeSpan MaxMessageArrivalTime { get; init; } = new GrpcServerOptions().MaxMessageArrivalTime;

    /// <summary>The gRPC layer's clock (deadlines, a message's arrival time); the system's unless given.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>The server's one receive budget, once started.</summary>
    public GrpcReceiveBudget Budget => _app!.Services.GetRequiredService<GrpcReceiveBudget>();

    public Uri Address { get; private set; } = null!;

    public Uri Http1Address { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddProvider(Logs);
        // Cleartext Kestrel speaks one protocol per endpoint: h2c for gRPC, and an HTTP/1.1 one so
        // the tests can show the gRPC layer's own refusal of HTTP/1.1.
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpcServer(o =>
        {
            o.MaxReceiveMessageSize = MaxMessageSize;
            o.MaxReceivingBytes = MaxReceivingBytes;
            o.MaxMessageArrivalTime = MaxMessageArrivalTime;
        });
        if (Time is not null)
        {
            builder.Services.AddSingleton(Time);
        }

        _app = builder.Build();
        _app.MapGrpcUnary(Unary, Echo.Parser, HandleUnaryAsync);
        _app.MapGrpcDuplexStreaming<Echo, Echo>(Duplex, Echo.Parser, HandleDuplexAsync);
        _app.MapGrpcUnimplemented();
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        Address = new Uri(addresses[0]);
        Http1Address = new Uri(addresses[1]);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static async ValueTask<Echo> HandleUnaryAsync(Echo request, GrpcCallContext context)
    {
        switch (request.Action)
        {
            case "throw":
                throw new InvalidOperationException("secret internal state");
            case "rpc":
                throw new RpcException(StatusCode.NotFound, request.Text, new Echo { Text = "detail" });
            case "wait":
                await Task.Delay(request.DelayMs, context.CancellationToken);
                break;
            case "ignore-deadline":
                await Task.Delay(request.DelayMs, CancellationToken.None);
                break;
            case "deadline":
                // The time left as the handler sees it, in whole seconds; "none" without a deadline.
                return new Echo { Text = context.Deadline is { } at ? ((long)(at - DateTimeOffset.UtcNow).TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : "none" };
            default:
                break;
        }

        return new Echo { Text = request.Text, Data = request.Data };
    }

    private static async Task HandleDuplexAsync(IAsyncStreamReader<Echo> requests, IServerStreamWriter<Echo> responses, GrpcCallContext context)
    {
        while (await requests.MoveNextAsync(context.CancellationToken))
        {
            // "batch:N" is answered with N messages queued together, then sent in flushes of about 1 KiB each.
            var text = requests.Current.Text;
            if (text.StartsWith("batch:", StringComparison.Ordinal))
            {
                var count = int.Parse(text["batch:".Length..], System.Globalization.CultureInfo.InvariantCulture);
                var batch = Channel.CreateUnbounded<Echo>();
                for (var i = 1; i <= count; i++)
                {
                    batch.Writer.TryWrite(new Echo { Text = $"{text}#{i}" });
                }

                while (batch.Reader.Count > 0)
                {
                    await responses.WriteAvailableAsync(batch.Reader, 1024, context.CancellationToken);
                }

                continue;
            }

            // "pushback:MS" ends the call RESOURCE_EXHAUSTED, telling the client when (or, below zero, not) to try again.
            if (text.StartsWith("pushback:", StringComparison.Ordinal))
            {
                var milliseconds = double.Parse(text["pushback:".Length..], System.Globalization.CultureInfo.InvariantCulture);
                throw new RpcException(StatusCode.ResourceExhausted, "busy") { RetryPushback = TimeSpan.FromMilliseconds(milliseconds) };
            }

            await responses.WriteAsync(new Echo { Text = text }, flush: true, context.CancellationToken);
        }
    }
}
