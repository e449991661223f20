using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wal.Grpc;
using Wal.Prometheus;
using Wal.Namespaces;

namespace Wal.Ingress;

/// <summary>
/// The one entry point for hosting an ingress: build, then run or start the returned app.
/// <code>
/// var app = IngressHost.Build(options, registry);
/// await app.StartAsync(ct);
/// Console.WriteLine(app.GetGrpcAddress());
/// </code>
/// </summary>
public static class IngressHost
{
    /// <summary>Validates <paramref name="options"/> and builds the app; nothing listens until it starts.</summary>
    /// <param name="options">Where to listen and which Kafka cluster to produce to.</param>
    /// <param name="registry">The namespaces; the ingress reads it on every call, so hot reloads apply at once.</param>
    /// <param name="configure">Last say over the builder, e.g. for logging or extra services.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid.</exception>
    public static WebApplication Build(IngressOptions options, INamespaceRegistry registry, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Wal.Ingress", Args = [] });
        var connections = new ConnectionLimit(options.MaxConnections);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            Listen(kestrel, options.ListenAddress, options.Port, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                l.Use(next => connections.Apply(next, l.ApplicationServices.GetRequiredService<ILogger<ConnectionLimit>>()));
                TlsSetup.Apply(l, options);
            });
            if (options.AdminPort >= 0)
            {
                Listen(kestrel, options.ListenAddress, options.AdminPort, l =>
                {
                    l.Protocols = HttpProtocols.Http1;
                    l.Use(AdminListener.MarkConnections);
                });
            }

            // The gRPC layer enforces its own message limit; Kestrel's body limit would cut streams.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingDelay;
        });
        // ASP.NET Core's hosting starts an Activity and a log scope for every request whenever its logger is enabled at
        // any level, even with no tracer listening and no provider printing scopes: about 0.7-1 KB more allocated per
        // unary call under the CLI's logging. Its own log lines (each request's start and end) are not wanted either. A
        // tracer that listens to ASP.NET Core's ActivitySource still gets its activities.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        var services = builder.Services;
        // Stopping waits for calls in flight: each gets Kafka's answer (or UNKNOWN at the produce
        // timeout) instead of a reset stream, and a stream waits for its caller to half-close. The 5 s
        // cover librdkafka's once-a-second check of message timeouts and the last acks' flush; a caller
        // that stopped reading acks is cut off here, not at its longer StreamAckTimeout (README, Stopping).
        services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ProduceTimeout + options.StreamEndingGrace + TimeSpan.FromSeconds(5));
        services.AddSingleton(options);
        services.AddSingleton(registry);
        services.AddSingleton(TimeProvider.System);
        services.AddGrpcServer(o =>
        {
            o.MaxReceiveMessageSize = options.MaxReceiveMessageSize;
            o.MaxReceivingBytes = options.MaxReceivingBytes;
            o.MaxMessageArrivalTime = options.MaxMessageArrivalTime;
        });
        services.AddSingleton<KafkaLogProducer>();
        services.AddSingleton(new InFlightLimiter(options.MaxInFlightBytes));
        services.AddSingleton<WriteRateLimiter>();
        services.AddMetrics();
        services.AddSingleton(connections);
        services.AddSingleton(sp => new IngressMetrics(sp.GetRequiredService<InFlightLimiter>(), sp.GetRequiredService<IMeterFactory>(), sp.GetRequiredService<GrpcReceiveBudget>(), connections));
        // Only this app's meter: several ingresses in one process (tests) each export their own.
        services.AddSingleton(sp =>
        {
            var factory = sp.GetRequiredService<IMeterFactory>();
            return new PrometheusExporter(i => i.Meter.Name == IngressMetrics.MeterName && ReferenceEquals(i.Meter.Scope, factory));
        });
        services.AddSingleton<NamespaceStateSweeper>();
        services.AddSingleton<LogWriter>();
        services.AddSingleton<WriteStreamHandler>();
        configure?.Invoke(builder);

        var app = builder.Build();
        // Refusals still waiting for their once-a-minute warning are warned of as the instance stops, not lost.
        app.Lifetime.ApplicationStopped.Register(connections.Dispose);
        // Created now, so that it listens before the first measurement.
        app.Services.GetRequiredService<PrometheusExporter>();
        app.Services.GetRequiredService<NamespaceStateSweeper>();
        app.MapWriteAheadLog();
        app.MapIngressAdmin();
        app.MapGrpcUnimplemented();
        return app;
    }

    /// <summary>The gRPC endpoint's address once the app has started, e.g. <c>http://127.0.0.1:50051</c>.</summary>
    public static Uri GetGrpcAddress(this WebApplication app) => Addresses(app)[0];

    /// <summary>The admin (HTTP/1.1) endpoint's address once started; null when it is off.</summary>
    public static Uri? GetAdminAddress(this WebApplication app)
    {
        var addresses = Addresses(app);
        return addresses.Count > 1 ? addresses[1] : null;
    }

    private static List<Uri> Addresses(WebApplication app)
    {
        var feature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        var addresses = feature?.Addresses.Select(a => new Uri(a)).ToList() ?? [];
        return addresses.Count > 0 ? addresses : throw new InvalidOperationException("The ingress has not started, so it has no bound address yet.");
    }

    private static void Listen(KestrelServerOptions kestrel, string address, int port, Action<ListenOptions> configure)
    {
        if (address == "localhost")
        {
            kestrel.ListenLocalhost(port, configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(address), port, configure);
        }
    }
}
