using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Wal.Ingress.Tests;

/// <summary>Follows one host's <c>wal_ingress_in_flight</c> (or another up-down counter) and remembers the highest value it reached.</summary>
public sealed class InFlightMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private long _current;

    public InFlightMeter(IngressTestHost host, string instrumentName = "wal_ingress_in_flight")
    {
        var factory = host.App.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == instrumentName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            lock (_gate)
            {
                _current += value;
                Max = Math.Max(Max, _current);
            }
        });
        _listener.Start();
    }

    public long Max { get; private set; }

    public long Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
