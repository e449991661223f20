using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Wal.Grpc;

/// <summary>Maps gRPC methods by their full path, e.g. <c>/pkg.Service/Method</c>.</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="GrpcServerOptions"/> and the server's one <see cref="GrpcReceiveBudget"/>.
    /// Optional: without it the defaults apply, and each mapped method has a budget of its own.
    /// </summary>
    public static IServiceCollection AddGrpcServer(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        services.AddSingleton(sp => new GrpcReceiveBudget(sp.GetRequiredService<IOptions<GrpcServerOptions>>().Value.MaxReceivingBytes));
        var builder = services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.Validate(o =>
        {
            o.Validate();
            return true;
        });
        return services;
    }

    /// <summary>A unary method: one request message in, one response message out.</summary>
    public static IEndpointConventionBuilder MapGrpcUnary<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints,
        string path,
        MessageParser<TRequest> parser,
        Func<TRequest, GrpcCallContext, ValueTask<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var runner = CreateRunner(endpoints);
        return endpoints.MapPost(path, http => runner.RunAsync(http, path, async call =>
        {
            var token = call.Context.CancellationToken;
            var request = await call.Reader.ReadAsync(parser, token)
                ?? throw new RpcException(StatusCode.Internal, "The request stream ended without a message.");
            if (await call.Reader.ReadAsync(parser, token) is not null)
            {
                throw new RpcException(StatusCode.Internal, "A unary call carried more than one request message.");
            }

            var response = await handler(request, call.Context);
            await call.WriteAsync(response, flush: false, token);
        }));
    }

    /// <summary>
    /// A bidirectional streaming method. The handler reads requests and writes responses as it
    /// pleases; the call ends with OK when the handler returns.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcDuplexStreaming<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints,
        string path,
        MessageParser<TRequest> parser,
        Func<IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, GrpcCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var runner = CreateRunner(endpoints);
        return endpoints.MapPost(path, http =>
        {
            // Kestrel aborts a connection whose request bodies arrive slower than a minimum rate (240 bytes/s after a
            // 5 s grace period), counting the time a read waits. A stream waits for its caller's next message for as
            // long as the caller pleases, so the rule would cut a quiet or low-rate stream, and every call sharing its
            // connection. Unary calls keep the protection.
            if (http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
            {
                rate.MinDataRate = null;
            }

            return runner.RunAsync(http, path, call =>
                handler(new GrpcStreamReader<TRequest>(call, parser), new GrpcStreamWriter<TResponse>(call), call.Context));
        });
    }

    /// <summary>Answers gRPC requests for any unmapped <c>/service/method</c> with UNIMPLEMENTED.</summary>
    public static IEndpointConventionBuilder MapGrpcUnimplemented(this IEndpointRouteBuilder endpoints)
    {
        var runner = CreateRunner(endpoints);
        return endpoints.MapPost("/{service}/{method}", http => runner.RunAsync(http, http.Request.Path.Value!, call =>
            throw new RpcException(StatusCode.Unimplemented, $"Method '{http.Request.Path}' is not implemented.")));
    }

    private static GrpcCallRunner CreateRunner(IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var options = services.GetService<IOptions<GrpcServerOptions>>()?.Value ?? new GrpcServerOptions();
        options.Validate();
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("Wal.Grpc") ?? NullLogger.Instance;
        var budget = services.GetService<GrpcReceiveBudget>() ?? new GrpcReceiveBudget(options.MaxReceivingBytes);
        return new GrpcCallRunner(options, budget, logger, services.GetService<TimeProvider>() ?? TimeProvider.System);
    }
}
