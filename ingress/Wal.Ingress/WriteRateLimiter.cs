using System.Collections.Concurrent;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// Per-namespace token buckets for <c>quota.writes_per_second</c> (burst: <c>quota.burst</c>, or
/// one second's worth). A bucket follows hot reloads: a changed rate or burst starts a fresh one.
/// </summary>
public sealed class WriteRateLimiter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes one write's token; false when the namespace is over its rate. Unlimited namespaces always pass.</summary>
    public bool TryTake(NamespaceConfig config)
    {
        var quota = config.Quota;
        if (quota is null || quota.WritesPerSecond <= 0)
        {
            return true;
        }

        var burst = quota.Burst > 0 ? quota.Burst : Math.Max(1, quota.WritesPerSecond);
        var bucket = _buckets.AddOrUpdate(
            config.Name,
            static (_, s) => new Bucket(s.Rate, s.Burst, s.Now),
            static (_, existing, s) => existing.Rate == s.Rate && existing.Capacity == s.Burst ? existing : new Bucket(s.Rate, s.Burst, s.Now),
            (Rate: quota.WritesPerSecond, Burst: (double)burst, Now: time.GetTimestamp()));
        return bucket.TryTake(time);
    }

    private sealed class Bucket(double rate, double capacity, long now)
    {
        private readonly Lock _gate = new();
        private double _tokens = capacity;
        private long _refilledAt = now;

        public double Rate { get; } = rate;

        public double Capacity { get; } = capacity;

        public bool TryTake(TimeProvider time)
        {
            lock (_gate)
            {
                var now = time.GetTimestamp();
                var elapsed = (now - _refilledAt) / (double)time.TimestampFrequency;
                _tokens = Math.Min(Capacity, _tokens + (elapsed * Rate));
                _refilledAt = now;
                if (_tokens < 1)
                {
                    return false;
                }

                _tokens -= 1;
                return true;
            }
        }
    }
}
