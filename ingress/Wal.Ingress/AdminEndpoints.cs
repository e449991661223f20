using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Wal.Prometheus;
using Wal.Namespaces;

namespace Wal.Ingress;

/// <summary><c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c>, served on the admin (HTTP/1.1) port for scrapers and probes.</summary>
public static class AdminEndpoints
{
    private static readonly TimeSpan KafkaProbeTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapIngressAdmin(this IEndpointRouteBuilder endpoints)
    {
        var exporter = endpoints.ServiceProvider.GetRequiredService<PrometheusExporter>();
        var registry = endpoints.ServiceProvider.GetRequiredService<INamespaceRegistry>();
        var producer = endpoints.ServiceProvider.GetRequiredService<KafkaLogProducer>();
        var sweeper = endpoints.ServiceProvider.GetService<NamespaceStateSweeper>();
        // Every listener shares the app's endpoints: these answer on the admin port only.
        var admin = endpoints.MapGroup(string.Empty).AddEndpointFilter((context, next) =>
            AdminListener.Serves(context.HttpContext) ? next(context) : ValueTask.FromResult<object?>(Results.NotFound()));
        admin.MapGet("/metrics", () =>
        {
            // A write answered after its namespace was deleted brings series of it back, and the next change of the
            // registry, which may never come, was the only sweep: swept before each scrape, they are never exported.
            sweeper?.Sweep();
            return Results.Text(exporter.Render(), PrometheusExporter.ContentType);
        });
        // Alive while the process can still make writes durable. A producer that failed fatally refuses
        // every record until the process restarts, so liveness fails too and the orchestrator restarts it.
        admin.MapGet("/healthz", () => producer.FatalError is { } fatal
            ? Results.Text($"unhealthy: the Kafka producer failed fatally ({fatal}); restart this instance\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok\n"));
        admin.MapGet("/readyz", async (CancellationToken cancellationToken) =>
        {
            if (producer.FatalError is { } fatal)
            {
                return Results.Text($"not ready: the Kafka producer failed fatally ({fatal}); restart this instance\n", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            // Metadata is a blocking librdkafka call: keep it off the request thread.
            var reachable = await Task.Run(() => producer.CanReachCluster(KafkaProbeTimeout), cancellationToken);
            // The namespaces are loaded before the ingress serves at all (the control plane is read to its end first).
            // None may exist yet: the instance is still ready, for the admin calls that create the first one, which
            // an orchestrator would not route to an instance it holds unready.
            return reachable
                ? Results.Text(registry.All.Count == 0 ? "ready: no namespaces yet; writes are refused until one is created\n" : "ready\n")
                : Results.Text("not ready: Kafka is not reachable\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        return endpoints;
    }
}
