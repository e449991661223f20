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
/// delete and answered after it brings some of its namespace's state back, and the next change takes it away again,
/// or the next scrape of /metrics, which sweeps first so that no series of a deleted namespace is exported.
/// Runs on whichever thread changed the registry (the control plane's follower), so it only walks dictionaries.
/// </remarks>
internal sealed class NamespaceStateSweeper : IDisposable
{
    private readonly INamespaceRegistry _registry;
    private readonly WriteRateLimiter _rates;
    private readonly InFlightLimiter _inFlight;
    private readonly PrometheusExporter _exporter;
    private readonly Lock _gate = new();

    public NamespaceStateSweeper(INamespaceRegistry registry, WriteRateLimiter rates, InFlightLimiter inFlight, PrometheusExporter exporter)
    {
        _registry = registry;
        _rates = rates;
        _inFlight = inFlight;
        _exporter = exporter;
        _registry.Changed += OnChanged;
    }

    public void Dispose() => _registry.Changed -= OnChanged;

    /// <summary>Drops the state of every namespace the registry lacks; run on each change and before each scrape.</summary>
    public void Sweep()
    {
        // One at a time: a scrape may run it while the follower does, and the limiters' retains were written for one.
        lock (_gate)
        {
            _rates.Retain(_registry);
            _inFlight.Retain(_registry);
            _exporter.Forget(IngressMetrics.NamespaceTag, IsGone);
        }
    }

    private void OnChanged(object? sender, EventArgs e) => Sweep();

    private bool IsGone(string @namespace) => @namespace != IngressMetrics.UnknownNamespace && !_registry.TryGet(@namespace, out _);
}
