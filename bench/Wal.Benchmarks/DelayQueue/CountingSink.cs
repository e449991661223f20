using System.Buffers.Binary;
using Wal.Sinks;

namespace Wal.Benchmarks.DelayQueue;

/// <summary>
/// Counts deliveries and records each one's lateness (now minus the due time the payload carries),
/// so the benchmark measures the timer path and not a store's latency.
/// </summary>
internal sealed class CountingSink : ISink
{
    private readonly long[] _latenessMs;
    private int _timed;
    private int _sentinels;

    public CountingSink(int capacity) => _latenessMs = new long[capacity];

    public int Timed => Volatile.Read(ref _timed);

    public int Sentinels => Volatile.Read(ref _sentinels);

    public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        if (delivery.Payload.Length != sizeof(long))
        {
            Interlocked.Increment(ref _sentinels);
            return ValueTask.FromResult(DeliveryResult.Delivered);
        }

        var due = BinaryPrimitives.ReadInt64BigEndian(delivery.Payload.Span);
        var index = Interlocked.Increment(ref _timed) - 1;
        if (index < _latenessMs.Length)
        {
            _latenessMs[index] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - due;
        }

        return ValueTask.FromResult(DeliveryResult.Delivered);
    }

    /// <summary>The lateness at quantile <paramref name="q"/> (0..1) of the timed deliveries, in ms.</summary>
    public double LatenessQuantile(double q)
    {
        var count = Math.Min(Timed, _latenessMs.Length);
        var sorted = _latenessMs.AsSpan(0, count).ToArray();
        Array.Sort(sorted);
        return count == 0 ? double.NaN : sorted[Math.Min(count - 1, (int)(q * count))];
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
