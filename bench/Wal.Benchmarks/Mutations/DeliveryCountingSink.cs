using System.Diagnostics;
using Wal.Sinks;

namespace Wal.Benchmarks.Mutations;

/// <summary>
/// Passes every delivery to the real sink and counts the ones it confirmed, so the benchmark can
/// tell when the last chunk is in memcached without reading memcached while it is being timed.
/// </summary>
internal sealed class DeliveryCountingSink(ISink inner) : ISink
{
    private long _delivered;
    private long _failed;
    private long _ticks;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Time spent inside the real sink, summed over deliveries.</summary>
    public TimeSpan InSink => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks));

    public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await inner.DeliverAsync(delivery, cancellationToken);
        Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - started);
        Interlocked.Increment(ref result.Outcome == DeliveryOutcome.Delivered ? ref _delivered : ref _failed);
        return result;
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
