using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Wal.Ingress.Tests;

/// <summary>
/// A faulty metrics consumer for one host: throws from inside every measurement of
/// <c>instrumentName</c> that carries the tag, as an exporter with a bug would. Measurements are
/// delivered synchronously, so the throw lands in the ingress code that recorded them.
/// </summary>
public sealed class ThrowingListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private int _thrown;

    public ThrowingListener(IngressTestHost host, string instrumentName, (string Key, string Value) tag)
    {
        var factory = host.App.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == instrumentName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var (key, value) in tags)
            {
                if (key == tag.Key && Equals(value, tag.Value))
                {
                    Interlocked.Increment(ref _thrown);
                    throw new InvalidOperationException($"the test's listener refuses {instrumentName} with {key}={value}");
                }
            }
        });
        _listener.Start();
    }

    /// <summary>How many measurements it threw from.</summary>
    public int Thrown => Volatile.Read(ref _thrown);

    public void Dispose() => _listener.Dispose();
}
