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

    /// <summary>Forwards the ordered call as one (so the real sink can pipeline it) and counts each outcome.</summary>
    public async ValueTask<IReadOnlyList<DeliveryResult>> DeliverInOrderAsync(IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var results = await inner.DeliverInOrderAsync(deliveries, cancellationToken);
        Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - started);
        foreach (var result in results)
        {
            Interlocked.Increment(ref result.Outcome == DeliveryOutcome.Delivered ? ref _delivered : ref _failed);
        }

        return results;
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
