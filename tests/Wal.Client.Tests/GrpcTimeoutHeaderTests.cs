namespace Wal.Client.Tests;

public sealed class GrpcTimeoutHeaderTests
{
    [Theory]
    [InlineData(0L, "1n")]
    [InlineData(-5L, "1n")]
    [InlineData(1L, "100n")]
    [InlineData(999_999L, "99999900n")]
    [InlineData(1_000_000L, "100000u")]
    [InlineData(TimeSpan.TicksPerSecond * 10, "10000000u")]
    [InlineData(TimeSpan.TicksPerSecond * 100, "100000m")]
    [InlineData(TimeSpan.TicksPerDay * 2, "172800S")]
    [InlineData(TimeSpan.TicksPerDay * 365 * 20, "10512000M")]
    public void Format_FinestUnitThatFits(long ticks, string expected) =>
        Assert.Equal(expected, GrpcTimeoutHeader.Format(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void Format_RoundsUp()
    {
        // 100 s and one tick is 100,000.0001 ms: the server must not give up before the caller.
        Assert.Equal("100001m", GrpcTimeoutHeader.Format(TimeSpan.FromSeconds(100) + TimeSpan.FromTicks(1)));
    }

    [Fact]
    public void Format_Longest_StaysWithinEightDigits()
    {
        var text = GrpcTimeoutHeader.Format(TimeSpan.MaxValue);

        Assert.EndsWith("H", text, StringComparison.Ordinal);
        Assert.True(text.Length <= 9, text);
    }
}
