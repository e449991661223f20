using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wal.Cli.Local;
using Wal.Namespaces;
using Wal.Prometheus;
using Wal.Topology;

namespace Wal.Cli.Hosting;

/// <summary>
/// <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> of a topology instance on a plain HTTP/1.1 port, for scrapers
/// and probes, as the ingress serves its own on its admin port.
/// </summary>
internal sealed class TopologyAdmin : IAsyncDisposable
{
    /// <summary>Above the ingress's gRPC and admin ports (50051, 50052), so both run on one machine as they are.</summary>
    public const int DefaultPort = 50053;

    /// <summary>
    /// The engine's meter, named rather than taken from its type because the engine keeps it internal. It is one static
    /// meter per process, so two topologies in one process (<c>wal up --regions 2</c>) each export both one's counts.
    /// </summary>
    public const string StreamsMeter = "Wal.Streams";

    private readonly WebApplication _app;
    private readonly PrometheusExporter _exporter;
    private INamespaceRegistry? _namespaces;

    private TopologyAdmin(WebApplication app, PrometheusExporter exporter)
    {
        _app = app;
        _exporter = exporter;
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:50053</c>; the bound port when 0 was asked for.</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>
    /// Starts listening; the exporter listens from now, so start this before the topology. Of meter <c>Wal.Topology</c>
    /// only <paramref name="metrics"/>' instruments are exported: chosen by the meter's name, a region's /metrics in
    /// <c>wal up --regions 2</c> added the other region's deliveries to its own.
    /// </summary>
    public static async Task<TopologyAdmin> StartAsync(
        IPAddress address, int port, TopologyHealth health, TopologyMetrics metrics, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Wal.Topology.Admin", Args = [] });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port, l => l.Protocols = HttpProtocols.Http1));
        builder.Logging.ClearProviders().AddProvider(new ForwardingLoggerProvider(loggers));
        builder.Services.AddSingleton<IHostLifetime, CommandLineLifetime>();
        builder.Services.AddSingleton(_ => new PrometheusExporter(i => i.Meter.Name == StreamsMeter || metrics.Owns(i)));
        var app = builder.Build();
        var exporter = app.Services.GetRequiredService<PrometheusExporter>();
        var admin = new TopologyAdmin(app, exporter);
        app.MapGet("/metrics", () =>
        {
            admin.ForgetDeletedNamespaces();
            return Results.Text(exporter.Render(), PrometheusExporter.ContentType);
        });
        app.MapGet("/healthz", () => Answer(health.Liveness()));
        app.MapGet("/readyz", () => Answer(health.Readiness()));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return admin;
    }

    /// <summary>
    /// From now on, exports no series of a namespace <paramref name="namespaces"/> no longer holds. Called once the
    /// control plane has read the namespaces (the admin port answers before it does). Without it, every namespace ever
    /// deleted kept its series for the life of the process, and one created again under its name went on from the old
    /// counts; the ingress drops them the same way.
    /// </summary>
    public void Follow(INamespaceRegistry namespaces)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        _namespaces = namespaces;
        namespaces.Changed += OnNamespacesChanged;
        ForgetDeletedNamespaces();
    }

    /// <summary>Reads the host of <c>--admin-host</c>: an IP address, or <c>localhost</c> for the loopback.</summary>
    public static bool TryParseHost(string text, out IPAddress address)
    {
        if (text == "localhost")
        {
            address = IPAddress.Loopback;
            return true;
        }

        return IPAddress.TryParse(text, out address!);
    }

    public async ValueTask DisposeAsync()
    {
        if (_namespaces is { } namespaces)
        {
            namespaces.Changed -= OnNamespacesChanged;
        }

        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private void OnNamespacesChanged(object? sender, EventArgs e) => ForgetDeletedNamespaces();

    // On every change and before every scrape: an attempt that was under way when its namespace was deleted counts after
    // the change, and brings a series back until the next sweep.
    private void ForgetDeletedNamespaces()
    {
        if (_namespaces is { } namespaces)
        {
            _exporter.Forget(TopologyMetrics.NamespaceTag, name => !namespaces.TryGet(name, out _));
        }
    }

    private static IResult Answer((bool Ok, string Text) probe) =>
        Results.Text(probe.Text, statusCode: probe.Ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
}
