using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Wal.Ingress.Tests;

/// <summary>Counts one host's <c>wal_ingress_shed</c> answers for one namespace, whatever the reason: one per refused attempt.</summary>
public sealed class ShedCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _count;

    public ShedCounter(IngressTestHost host, string @namespace)
    {
        var factory = host.App.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "wal_ingress_shed" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var (key, tagValue) in tags)
            {
                if (key == IngressMetrics.NamespaceTag && Equals(tagValue, @namespace))
                {
                    Interlocked.Add(ref _count, value);
                }
            }
        });
        _listener.Start();
    }

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
