using Wal.Prometheus;
using Wal.Namespaces;

namespace Wal.Ingress;

/// <summary>
/// Drops what the ingress keeps per namespace (its rate bucket, its in-flight counts, its metric series) once the
/// registry no longer holds the namespace. With namespaces created and deleted over time, that state would
/// otherwise grow for the life of the process; and a namespace created again under a deleted one's name starts
/// fresh, as any new namespace does.
/// </summary>
/// <remarks>
/// Every change sweeps every name the registry lacks, not only the one just deleted: a write admitted just before a
/// delete and answered after it brings some of its namespace's state back, and the next change takes it away again.
/// Runs on whichever thread changed the registry (the control plane's follower), so it only walks dictionaries.
/// </remarks>
internal sealed class NamespaceStateSweeper : IDisposable
{
    private readonly INamespaceRegistry _registry;
    private readonly WriteRateLimiter _rates;
    private readonly InFlightLimiter _inFlight;
    private readonly PrometheusExporter _exporter;

    public NamespaceStateSweeper(INamespaceRegistry registry, WriteRateLimiter rates, InFlightLimiter inFlight, PrometheusExporter exporter)
    {
        _registry = registry;
        _rates = rates;
        _inFlight = inFlight;
        _exporter = exporter;
        _registry.Changed += OnChanged;
    }

    public void Dispose() => _registry.Changed -= OnChanged;

    private void OnChanged(object? sender, EventArgs e)
    {
        _rates.Retain(_registry);
        _inFlight.Retain(_registry);
        _exporter.Forget(IngressMetrics.NamespaceTag, IsGone);
    }

    private bool IsGone(string @namespace) => @namespace != IngressMetrics.UnknownNamespace && !_registry.TryGet(@namespace, out _);
}
