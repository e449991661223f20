using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Topology.Retry;

namespace Wal.Topology.Tests;

public sealed class BackoffPolicyTests
{
    private static BackoffPolicy Policy(double jitter = 0, int maxAttempts = 5) => new(new RetryPolicy
    {
        InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
        Multiplier = 2,
        MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        MaxAttempts = maxAttempts,
        Jitter = jitter,
    });

    [Theory]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(3, 400)]
    [InlineData(4, 800)]
    [InlineData(5, 1000)]
    [InlineData(60, 1000)]
    public void Delay_WithoutJitter_GrowsExponentiallyUpToTheCap(int attemptsMade, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Policy().Delay(attemptsMade, random: 0.9));
    }

    [Fact]
    public void Delay_WithJitter_StaysInsideTheBandAndSpansIt()
    {
        var policy = Policy(jitter: 0.5);

        var low = policy.Delay(2, random: 0);
        var high = policy.Delay(2, random: 0.999999);

        Assert.Equal(TimeSpan.FromMilliseconds(150), low);
        Assert.InRange(high.TotalMilliseconds, 249.9, 250);
    }

    [Theory]
    [InlineData(1, 50, 100)]
    [InlineData(1, 700, 700)]
    [InlineData(1, 60_000, 1000)]
    [InlineData(3, 300, 400)]
    public void Delay_TargetAskedForAWait_AtLeastThatUpToTheCap(int attemptsMade, int askedMs, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), Policy().Delay(attemptsMade, random: 0.9, atLeast: TimeSpan.FromMilliseconds(askedMs)));
    }

    [Fact]
    public void CanRetry_StopsAtMaxAttempts()
    {
        var policy = Policy(maxAttempts: 3);

        Assert.True(policy.CanRetry(1));
        Assert.True(policy.CanRetry(2));
        Assert.False(policy.CanRetry(3));
    }

    [Fact]
    public void Delay_BeforeAnyAttempt_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Policy().Delay(0, 0.5));
    }
}
