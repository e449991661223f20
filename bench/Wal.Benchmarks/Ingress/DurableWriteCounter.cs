using System.Diagnostics.Metrics;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// The ingress's own count of answered writes (its <c>wal_ingress_writes</c> counter), split into
/// durable TRUE and everything else, and of those the FALSE ones; what h2load cannot see, since
/// grpc-status rides in trailers.
/// </summary>
internal sealed class DurableWriteCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _durable;
    private long _notDurable;
    private long _notWritten;

    public DurableWriteCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument is { Name: "wal_ingress_writes", Meter.Name: Wal.Ingress.IngressMetrics.MeterName })
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    public long Durable => Interlocked.Read(ref _durable);

    public long NotDurable => Interlocked.Read(ref _notDurable);

    /// <summary>The answers FALSE among <see cref="NotDurable"/>: definitely not written.</summary>
    public long NotWritten => Interlocked.Read(ref _notWritten);

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "durable")
            {
                Interlocked.Add(ref tag.Value is "true" ? ref _durable : ref _notDurable, value);
                if (tag.Value is "false")
                {
                    Interlocked.Add(ref _notWritten, value);
                }

                return;
            }
        }
    }
}
