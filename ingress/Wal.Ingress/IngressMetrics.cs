using System.Diagnostics.Metrics;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// The ingress's instruments, on System.Diagnostics.Metrics. Namespace tags only ever hold
/// registered names (or "unknown"), so a caller inventing names cannot grow the series.
/// </summary>
public sealed class IngressMetrics : IDisposable
{
    public const string MeterName = "Wal.Ingress";
    public const string UnknownNamespace = "unknown";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _outcomes;
    private readonly Counter<long> _shed;
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _inFlight;
    private readonly UpDownCounter<long> _inFlightBytes;

    public IngressMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("wal_ingress_requests", "{request}", "Write requests received, by method and namespace.");
        _outcomes = _meter.CreateCounter<long>("wal_ingress_writes", "{write}", "Answered writes by durable value (true, false, unknown).");
        _shed = _meter.CreateCounter<long>("wal_ingress_shed", "{write}", "Writes refused with RESOURCE_EXHAUSTED to protect the instance.");
        _duration = _meter.CreateHistogram<double>(
            "wal_ingress_write_duration", "s", "Time from receiving a write to answering it.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _inFlight = _meter.CreateUpDownCounter<long>("wal_ingress_in_flight", "{write}", "Writes awaiting Kafka's answer.");
        _inFlightBytes = _meter.CreateUpDownCounter<long>("wal_ingress_in_flight_bytes", "By", "Record bytes awaiting Kafka's answer.");
    }

    public void Request(string method, string @namespace) =>
        _requests.Add(1, new("method", method), new("namespace", @namespace));

    public void Answered(string @namespace, Trilean durable, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("namespace", @namespace);
        _outcomes.Add(1, tag, new("durable", DurableTag(durable)));
        _duration.Record(elapsed.TotalSeconds, tag);
    }

    public void Shed(string @namespace, string reason) =>
        _shed.Add(1, new("namespace", @namespace), new("reason", reason));

    public void InFlight(string @namespace, long writes, long bytes)
    {
        var tag = new KeyValuePair<string, object?>("namespace", @namespace);
        _inFlight.Add(writes, tag);
        _inFlightBytes.Add(bytes, tag);
    }

    public void Dispose() => _meter.Dispose();

    private static string DurableTag(Trilean durable) => durable switch
    {
        Trilean.True => "true",
        Trilean.False => "false",
        _ => "unknown",
    };
}
