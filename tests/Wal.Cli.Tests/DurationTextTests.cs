using Wal.Cli.Tests.Operator;

namespace Wal.Cli.Tests;

public sealed class DurationTextTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5_000)]
    [InlineData("1.5m", 90_000)]
    [InlineData("1d", 86_400_000)]
    public void TryParse_NumberWithUnit_ThatDuration(string text, double milliseconds)
    {
        Assert.True(DurationText.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Theory]
    [InlineData("100000000d")]
    [InlineData("1e300s")]
    public void TryParse_LongerThanATimeSpanHolds_False(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Fact]
    public async Task Write_DelayLongerThanATimeSpanHolds_UsageErrorNotACrash()
    {
        // A typo of a few zeros is a bad command line like any other, not an OverflowException out of the parser.
        var run = await OperatorStackFixture.RunAsync("write", "demo", "--memcached-key", "k", "--value", "x", "--delay", "100000000d", "--address", "http://127.0.0.1:1/");

        Assert.True(run.Exit == ExitCodes.Usage, run.ToString());
        Assert.StartsWith("error: '100000000d' is not a duration", run.ErrorLines[0], StringComparison.Ordinal);
    }
}
