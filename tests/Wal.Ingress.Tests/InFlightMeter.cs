using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Wal.Ingress.Tests;

/// <summary>
/// Follows one host's <c>wal_ingress_in_flight</c> (or <c>wal_ingress_in_flight_bytes</c>): an
/// observed gauge, so it is sampled every millisecond, and remembers the highest value seen.
/// <see cref="Current"/> takes a fresh sample.
/// </summary>
public sealed class InFlightMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Timer _sampling;
    private long _sample;
    private long _max;
    private bool _disposed;

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
        // One measurement per namespace: a sample is their sum.
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => _sample += value);
        _listener.Start();
        _sampling = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
    }

    public long Max
    {
        get
        {
            lock (_gate)
            {
                return _max;
            }
        }
    }

    public long Current => Sample();

    public void Dispose()
    {
        _sampling.Dispose();
        lock (_gate)
        {
            // A tick already under way finds the listener gone and takes no sample.
            _disposed = true;
            _listener.Dispose();
        }
    }

    private long Sample()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return _sample;
            }

            _sample = 0;
            _listener.RecordObservableInstruments();
            _max = Math.Max(_max, _sample);
            return _sample;
        }
    }
}
