using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

public sealed class WriteRateLimiterTests
{
    [Fact]
    public void TryTake_BurstSpent_RefusesUntilTimeRefills()
    {
        var time = new ManualTime();
        var limiter = new WriteRateLimiter(time);
        var config = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 3 } };

        var first = Enumerable.Range(0, 5).Select(_ => limiter.TryTake(config)).ToList();
        time.Advance(TimeSpan.FromMilliseconds(100));
        var afterTenth = limiter.TryTake(config);
        var again = limiter.TryTake(config);

        Assert.Equal([true, true, true, false, false], first);
        Assert.True(afterTenth);
        Assert.False(again);
    }

    [Fact]
    public void TryTake_NoRate_AlwaysTrue()
    {
        var limiter = new WriteRateLimiter(new ManualTime());
        var config = new NamespaceConfig { Name = "n", Quota = new Quota() };

        Assert.All(Enumerable.Range(0, 1000), _ => Assert.True(limiter.TryTake(config)));
    }

    [Fact]
    public void TryTake_RateChangedByReload_NewBucket()
    {
        var limiter = new WriteRateLimiter(new ManualTime());
        var slow = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 1, Burst = 1 } };
        var fast = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 100, Burst = 5 } };

        Assert.True(limiter.TryTake(slow));
        Assert.False(limiter.TryTake(slow));
        Assert.True(limiter.TryTake(fast));
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
