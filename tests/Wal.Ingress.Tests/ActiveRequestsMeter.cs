using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Wal.Ingress.Tests;

/// <summary>
/// Follows one host's <c>http.server.active_requests</c> (ASP.NET Core's hosting meter): a request leaves it only once
/// its handler returned and Kestrel finished with it, so it tells whether a call is really over.
/// </summary>
public sealed class ActiveRequestsMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _active;

    public ActiveRequestsMeter(IngressTestHost host)
    {
        var factory = host.App.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == "http.server.active_requests" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, delta, _, _) => Interlocked.Add(ref _active, delta));
        _listener.Start();
    }

    public long Active => Interlocked.Read(ref _active);

    public void Dispose() => _listener.Dispose();
}
