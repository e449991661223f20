using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

public sealed class WriteRateLimiterTests
{
    [Fact]
    public void TryTake_BurstSpent_RefusesUntilTimeRefills()
    {
        var time = new ManualTimeProvider();
        var limiter = new WriteRateLimiter(time);
        var config = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 3 } };

        var first = Enumerable.Range(0, 5).Select(_ => limiter.TryTake(config, out TimeSpan _)).ToList();
        time.Advance(TimeSpan.FromMilliseconds(100));
        var afterTenth = limiter.TryTake(config, out TimeSpan _);
        var again = limiter.TryTake(config, out TimeSpan _);

        Assert.Equal([true, true, true, false, false], first);
        Assert.True(afterTenth);
        Assert.False(again);
    }

    [Fact]
    public void TryTake_OverTheRate_SaysWhenTheNextTokenIsDue()
    {
        var time = new ManualTimeProvider();
        var limiter = new WriteRateLimiter(time);
        var config = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 1 } };

        var first = limiter.TryTake(config, out var firstWait);
        var second = limiter.TryTake(config, out var secondWait);
        time.Advance(TimeSpan.FromMilliseconds(40));
        var third = limiter.TryTake(config, out var thirdWait);
        time.Advance(thirdWait);
        var fourth = limiter.TryTake(config, out _);

        Assert.Equal((true, false, false, true), (first, second, third, fourth));
        Assert.Equal(TimeSpan.Zero, firstWait);
        Assert.Equal(100, secondWait.TotalMilliseconds, precision: 6);
        Assert.Equal(60, thirdWait.TotalMilliseconds, precision: 6);
    }

    // A rate near zero (an operator slowing a namespace to a standstill, since 0 means unlimited) puts the next token
    // further off than a TimeSpan reaches: computing the wait threw, and the refused write failed as INTERNAL.
    [Fact]
    public void TryTake_RateSoLowTheNextTokenIsOutOfReach_RefusedWithTheLongestWait()
    {
        var limiter = new WriteRateLimiter(new ManualTimeProvider());
        var config = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 1e-15, Burst = 1 } };

        var first = limiter.TryTake(config, out TimeSpan _);
        var second = limiter.TryTake(config, out var wait);

        Assert.Equal((true, false), (first, second));
        Assert.Equal(TimeSpan.MaxValue, wait);
    }

    [Fact]
    public void TryTake_NoRate_AlwaysTrue()
    {
        var limiter = new WriteRateLimiter(new ManualTimeProvider());
        var config = new NamespaceConfig { Name = "n", Quota = new Quota() };

        Assert.All(Enumerable.Range(0, 1000), _ => Assert.True(limiter.TryTake(config, out TimeSpan _)));
    }

    [Fact]
    public void TryTake_RateRaisedByReloadWhileEmpty_NoFreshBurst()
    {
        var time = new ManualTimeProvider();
        var limiter = new WriteRateLimiter(time);
        var slow = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 1, Burst = 1 } };
        var fast = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 100, Burst = 5 } };

        Assert.True(limiter.TryTake(slow, out TimeSpan _));
        Assert.False(limiter.TryTake(slow, out TimeSpan _));
        var rightAfterReload = limiter.TryTake(fast, out TimeSpan _);
        time.Advance(TimeSpan.FromMilliseconds(20));
        var afterTwoHundredths = Enumerable.Range(0, 4).Select(_ => limiter.TryTake(fast, out TimeSpan _)).ToList();

        Assert.False(rightAfterReload);
        Assert.Equal([true, true, false, false], afterTwoHundredths);
    }

    [Fact]
    public void TryTake_OtherFieldChangedByReload_BucketKeepsItsLevel()
    {
        var limiter = new WriteRateLimiter(new ManualTimeProvider());
        var before = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 2 } };
        var after = before.Clone();
        after.MaxPayloadBytes = 1024;

        var taken = new[] { limiter.TryTake(before, out TimeSpan _), limiter.TryTake(before, out TimeSpan _), limiter.TryTake(after, out TimeSpan _) };

        Assert.Equal([true, true, false], taken);
    }

    [Fact]
    public void TryTake_BurstLoweredByReload_SavedTokensCappedAtNewBurst()
    {
        var limiter = new WriteRateLimiter(new ManualTimeProvider());
        var roomy = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 10 } };
        var tight = new NamespaceConfig { Name = "n", Quota = new Quota { WritesPerSecond = 10, Burst = 2 } };

        Assert.True(limiter.TryTake(roomy, out TimeSpan _));
        var afterReload = Enumerable.Range(0, 4).Select(_ => limiter.TryTake(tight, out TimeSpan _)).ToList();

        Assert.Equal([true, true, false, false], afterReload);
    }

    [Fact]
    public void TryTake_NewNamespace_StartsWithFullBurst()
    {
        var limiter = new WriteRateLimiter(new ManualTimeProvider());
        var first = new NamespaceConfig { Name = "a", Quota = new Quota { WritesPerSecond = 1, Burst = 1 } };
        var second = new NamespaceConfig { Name = "b", Quota = new Quota { WritesPerSecond = 1, Burst = 3 } };

        Assert.True(limiter.TryTake(first, out TimeSpan _));
        var taken = Enumerable.Range(0, 4).Select(_ => limiter.TryTake(second, out TimeSpan _)).ToList();

        Assert.Equal([true, true, true, false], taken);
    }
}
