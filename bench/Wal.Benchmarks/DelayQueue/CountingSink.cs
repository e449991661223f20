using System.Buffers.Binary;
using Wal.Sinks;

namespace Wal.Benchmarks.DelayQueue;

/// <summary>
/// Counts deliveries and records each one's lateness (now minus the due time the payload carries),
/// so the benchmark measures the timer path and not a store's latency. A payload due at 0 marks a
/// timer that must stay pending for the whole run: its delivery is counted apart, never as timed.
/// </summary>
internal sealed class CountingSink : ISink
{
    private readonly long[] _latenessMs;
    private int _timed;
    private int _early;
    private int _pendingDelivered;
    private int _sentinels;

    public CountingSink(int capacity) => _latenessMs = new long[capacity];

    public int Timed => Volatile.Read(ref _timed);

    /// <summary>Timed deliveries that came before their due time.</summary>
    public int Early => Volatile.Read(ref _early);

    /// <summary>Deliveries of timers meant to stay pending (due at 0 in the payload: an hour away when scheduled).</summary>
    public int PendingDelivered => Volatile.Read(ref _pendingDelivered);

    public int Sentinels => Volatile.Read(ref _sentinels);

    public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        if (delivery.Payload.Length != sizeof(long))
        {
            Interlocked.Increment(ref _sentinels);
            return ValueTask.FromResult(DeliveryResult.Delivered);
        }

        var due = BinaryPrimitives.ReadInt64BigEndian(delivery.Payload.Span);
        if (due == 0)
        {
            Interlocked.Increment(ref _pendingDelivered);
            return ValueTask.FromResult(DeliveryResult.Delivered);
        }

        var lateness = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - due;
        if (lateness < 0)
        {
            Interlocked.Increment(ref _early);
        }

        var index = Interlocked.Increment(ref _timed) - 1;
        if (index < _latenessMs.Length)
        {
            _latenessMs[index] = lateness;
        }

        return ValueTask.FromResult(DeliveryResult.Delivered);
    }

    /// <summary>
    /// The lateness at quantile <paramref name="q"/> (0..1) of the timed deliveries, in ms: the smallest value at least
    /// that share of them is at or below (nearest rank), so p99 of 100 values is the 99th.
    /// </summary>
    public double LatenessQuantile(double q)
    {
        var count = Math.Min(Timed, _latenessMs.Length);
        if (count == 0)
        {
            return double.NaN;
        }

        var sorted = _latenessMs.AsSpan(0, count).ToArray();
        Array.Sort(sorted);
        return sorted[Math.Clamp((int)Math.Ceiling(q * count) - 1, 0, count - 1)];
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
