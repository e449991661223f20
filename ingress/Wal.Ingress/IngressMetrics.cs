using System.Diagnostics.Metrics;
using Wal.Grpc;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// The ingress's instruments, on System.Diagnostics.Metrics. Namespace tags only ever hold
/// registered names (or <see cref="UnknownNamespace"/>), so a caller inventing names cannot grow the series.
/// </summary>
public sealed class IngressMetrics : IDisposable
{
    public const string MeterName = "Wal.Ingress";
    /// <summary>
    /// The namespace tag of a call naming no registered namespace: not a valid namespace name (those have no
    /// parentheses), so a namespace that happens to be called "unknown" does not count every made-up name's calls.
    /// </summary>
    public const string UnknownNamespace = "(unknown)";

    /// <summary>The tag every per-namespace series carries.</summary>
    public const string NamespaceTag = "namespace";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _outcomes;
    private readonly Counter<long> _shed;
    private readonly Histogram<double> _duration;
    private readonly GrpcReceiveBudget? _receiving;

    /// <param name="limiter">Read at collection time for the in-flight gauges.</param>
    /// <param name="meterFactory">The host's factory, so each host has its own meter; a new meter without one.</param>
    /// <param name="receiving">Read at collection time for the bytes of messages still arriving; no such gauge without it.</param>
    /// <param name="connections">Read at collection time for the gRPC port's connections; no such instruments without it.</param>
    public IngressMetrics(InFlightLimiter limiter, IMeterFactory? meterFactory = null, GrpcReceiveBudget? receiving = null, ConnectionLimit? connections = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("wal_ingress_requests", "{request}", "Write requests received, by method and namespace.");
        _outcomes = _meter.CreateCounter<long>("wal_ingress_writes", "{write}", "Answered writes by durable value (true, false, unknown).");
        _shed = _meter.CreateCounter<long>("wal_ingress_shed", "{write}", "Writes refused with RESOURCE_EXHAUSTED to protect the instance.");
        _duration = _meter.CreateHistogram<double>(
            "wal_ingress_write_duration", "s", "Time from receiving a write to answering it, by durable value.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        // Observed from the limiter, which counts every reservation anyway: two up-down counters
        // moved twice per write were 4 of a write's 7 measurements.
        _meter.CreateObservableUpDownCounter("wal_ingress_in_flight", () => InFlight(limiter, u => u.Writes), "{write}", "Writes awaiting Kafka's answer.");
        _meter.CreateObservableUpDownCounter("wal_ingress_in_flight_bytes", () => InFlight(limiter, u => u.Bytes), "By", "Record bytes awaiting Kafka's answer.");
        if (receiving is not null)
        {
            _meter.CreateObservableUpDownCounter("wal_ingress_receiving_bytes", () => receiving.Used, "By", "Bytes buffered of request messages begun but not yet whole, across all calls.");
            // Refused before they were parsed, so under no namespace: uncounted, a flood of them showed no shedding at all.
            _receiving = receiving;
            receiving.Refused += ShedOnArrival;
        }

        if (connections is not null)
        {
            _meter.CreateObservableUpDownCounter("wal_ingress_connections", () => connections.Open, "{connection}", "Connections open on the gRPC port.");
            _meter.CreateObservableCounter("wal_ingress_connections_refused", () => connections.Refused, "{connection}", "Connections closed on arrival because MaxConnections were open.");
        }
    }

    public void Request(string method, string @namespace) =>
        _requests.Add(1, new("method", method), new(NamespaceTag, @namespace));

    public void Answered(string @namespace, Trilean durable, TimeSpan elapsed)
    {
        // The duration by answer too: refusals take microseconds, and under load shedding they would
        // pull the durable writes' percentiles down just as those writes slow.
        var tag = new KeyValuePair<string, object?>(NamespaceTag, @namespace);
        var answer = new KeyValuePair<string, object?>("durable", DurableTag(durable));
        _outcomes.Add(1, tag, answer);
        _duration.Record(elapsed.TotalSeconds, tag, answer);
    }

    public void Shed(string @namespace, string reason) =>
        _shed.Add(1, new(NamespaceTag, @namespace), new("reason", reason));

    public void Dispose()
    {
        if (_receiving is not null)
        {
            _receiving.Refused -= ShedOnArrival;
        }

        _meter.Dispose();
    }

    private void ShedOnArrival(string reason) => Shed(UnknownNamespace, reason);

    private static IEnumerable<Measurement<long>> InFlight(InFlightLimiter limiter, Func<(string Namespace, long Writes, long Bytes), long> value) =>
        limiter.ByNamespace().Select(usage => new Measurement<long>(value(usage), new KeyValuePair<string, object?>(NamespaceTag, usage.Namespace)));

    private static string DurableTag(Trilean durable) => durable switch
    {
        Trilean.True => "true",
        Trilean.False => "false",
        _ => "unknown",
    };
}
