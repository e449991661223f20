using System.Collections.Concurrent;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// Per-namespace token buckets for <c>quota.writes_per_second</c> (burst: <c>quota.burst</c>, or
/// one second's worth). A bucket follows hot reloads: a changed rate or burst applies from the
/// next write, to the tokens the bucket holds then (at most the new burst). Only a namespace this
/// instance has not limited before, or one deleted and created again, starts with a full bucket.
/// </summary>
public sealed class WriteRateLimiter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes one write's token; false when the namespace is over its rate, with how long until a token is due then.
    /// Unlimited namespaces always pass.
    /// </summary>
    public bool TryTake(NamespaceConfig config, out TimeSpan untilNextToken)
    {
        untilNextToken = TimeSpan.Zero;
        var quota = config.Quota;
        if (quota is null || quota.WritesPerSecond <= 0)
        {
            return true;
        }

        var burst = quota.Burst > 0 ? quota.Burst : Math.Max(1, quota.WritesPerSecond);
        var bucket = _buckets.GetOrAdd(config.Name, static (_, s) => new Bucket(s.Burst, s.Now), (Burst: (double)burst, Now: time.GetTimestamp()));
        return bucket.TryTake(quota.WritesPerSecond, burst, time, out untilNextToken);
    }

    /// <summary>
    /// Drops the buckets of namespaces <paramref name="registry"/> no longer holds: namespaces created and deleted
    /// over time would otherwise keep one each for the life of the process, and a deleted namespace created again
    /// starts with a full bucket, as any new one does.
    /// </summary>
    public void Retain(INamespaceRegistry registry)
    {
        foreach (var name in _buckets.Keys)
        {
            if (!registry.TryGet(name, out _))
            {
                _buckets.TryRemove(name, out _);
            }
        }
    }

    // The rate and burst come with each take rather than with the bucket: a reload that replaced the bucket would
    // hand every namespace whose quota an operator changed (often to slow a writer down) a full burst at once.
    private sealed class Bucket(double tokens, long now)
    {
        private readonly Lock _gate = new();
        private double _tokens = tokens;
        private long _refilledAt = now;
        private double _rate;

        public bool TryTake(double rate, double capacity, TimeProvider time, out TimeSpan untilNextToken)
        {
            untilNextToken = TimeSpan.Zero;
            lock (_gate)
            {
                var now = time.GetTimestamp();
                var elapsed = (now - _refilledAt) / (double)time.TimestampFrequency;
                // The time since the last take ran at the rate of then; a new burst caps what was saved under the old one.
                _tokens = Math.Min(capacity, _tokens + (elapsed * _rate));
                _refilledAt = now;
                _rate = rate;
                if (_tokens < 1)
                {
                    // Other writers may take that token first; it is when trying again can first succeed. A rate near
                    // zero (a namespace brought to a standstill) puts it beyond what a TimeSpan holds, which threw here.
                    var seconds = (1 - _tokens) / rate;
                    untilNextToken = seconds < TimeSpan.MaxValue.TotalSeconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.MaxValue;
                    return false;
                }

                _tokens -= 1;
                return true;
            }
        }
    }
}
