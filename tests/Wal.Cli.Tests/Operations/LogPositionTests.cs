using Wal.Cli.Operations;

namespace Wal.Cli.Tests.Operations;

public sealed class LogPositionTests
{
    // An operator in an outage types a time of day: "02:00" was read as partition 2 from offset 0.
    [Theory]
    [InlineData("02:00")]
    [InlineData("00:15")]
    [InlineData("0:120,1:08")]
    public void TimeOfDay_IsRefusedSayingSo(string text)
    {
        Assert.Null(LogPosition.Parse(text, out var error));
        Assert.Contains("looks like a time of day", error, StringComparison.Ordinal);
    }

    [Fact]
    public void PartitionOffsets_AsDocumented_AreRead()
    {
        var position = LogPosition.Parse("0:120, 1:88,2:0", out var error);

        Assert.Null(error);
        Assert.Equal(new Dictionary<int, long> { [0] = 120, [1] = 88, [2] = 0 }, position!.Offsets);
    }

    // "0:1,0:2" (a typo for "0:1,1:2") kept the last offset of partition 0 and started partition 1 from its first.
    [Fact]
    public void PartitionNamedTwice_IsRefusedNamingIt()
    {
        Assert.Null(LogPosition.Parse("0:1, 0:2", out var error));
        Assert.Contains("partition 0 is given twice", error, StringComparison.Ordinal);
    }

    // A date and time with a space instead of the T was taken for a list of partition offsets and refused as one.
    [Fact]
    public void DateAndTimeWithASpace_IsATime()
    {
        var position = LogPosition.Parse("2026-11-22 02:00:00Z", out var error);

        Assert.Null(error);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 2, 0, 0, TimeSpan.Zero), position!.Time);
    }
}
