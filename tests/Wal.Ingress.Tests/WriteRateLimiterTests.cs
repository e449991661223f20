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
    public void TryTake_RateRaisedByReloadWhileEmpty_NoFreshBurst()
    {
        var time = new ManualTime();
        var limiter = new WriteRateLimiter(time);
        var slow = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 1, Burst = 1 } };
        var fast = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 100, Burst = 5 } };

        Assert.True(limiter.TryTake(slow));
        Assert.False(limiter.TryTake(slow));
        var rightAfterReload = limiter.TryTake(fast);
        time.Advance(TimeSpan.FromMilliseconds(20));
        var afterTwoHundredths = Enumerable.Range(0, 4).Select(_ => limiter.TryTake(fast)).ToList();

        Assert.False(rightAfterReload);
        Assert.Equal([true, true, false, false], afterTwoHundredths);
    }

    [Fact]
    public void TryTake_OtherFieldChangedByReload_BucketKeepsItsLevel()
    {
        var limiter = new WriteRateLimiter(new ManualTime());
        var before = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 2 } };
        var after = before.Clone();
        after.MaxPayloadBytes = 1024;

        var taken = new[] { limiter.TryTake(before), limiter.TryTake(before), limiter.TryTake(after) };

        Assert.Equal([true, true, false], taken);
    }

    [Fact]
    public void TryTake_BurstLoweredByReload_SavedTokensCappedAtNewBurst()
    {
        var limiter = new WriteRateLimiter(new ManualTime());
        var roomy = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 10 } };
        var tight = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 2 } };

        Assert.True(limiter.TryTake(roomy));
        var afterReload = Enumerable.Range(0, 4).Select(_ => limiter.TryTake(tight)).ToList();

        Assert.Equal([true, true, false, false], afterReload);
    }

    [Fact]
    public void TryTake_NewNamespace_StartsWithFullBurst()
    {
        var limiter = new WriteRateLimiter(new ManualTime());
        var first = new NamespaceConfig { Name = "a", Quota = new Quota { WritesPerSecond = 1, Burst = 1 } };
        var second = new NamespaceConfig { Name = "b", Quota = new Quota { WritesPerSecond = 1, Burst = 3 } };

        Assert.True(limiter.TryTake(first));
        var taken = Enumerable.Range(0, 4).Select(_ => limiter.TryTake(second)).ToList();

        Assert.Equal([true, true, true, false], taken);
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
