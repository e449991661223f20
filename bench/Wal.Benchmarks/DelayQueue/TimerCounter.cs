using System.Diagnostics.Metrics;
using Wal.Topology;

namespace Wal.Benchmarks.DelayQueue;

/// <summary>
/// The topology's own count of timers put into and taken from its store (<c>wal.topology.timers.scheduled</c> and
/// <c>.fired</c>): the sink sees a timer only when it fires, so without these a benchmark whose timers never reached the
/// store would look the same as one whose timers all did.
/// </summary>
internal sealed class TimerCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _scheduled;
    private long _fired;

    public TimerCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == TopologyMetrics.MeterName && instrument.Name is "wal.topology.timers.scheduled" or "wal.topology.timers.fired")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            Interlocked.Add(ref instrument.Name.EndsWith(".scheduled", StringComparison.Ordinal) ? ref _scheduled : ref _fired, value));
        _listener.Start();
    }

    public long Scheduled => Interlocked.Read(ref _scheduled);

    public long Fired => Interlocked.Read(ref _fired);

    public void Dispose() => _listener.Dispose();
}
