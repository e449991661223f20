using Wal.Topology.Delay;

namespace Wal.Topology.Tests;

public sealed class MarkerValueTests
{
    [Fact]
    public void Parse_AnEncodedMarker_ReturnsItsNextAndPreviousKeys()
    {
        var next = DueKey.Encode(1_700_000_000_100, "record-é");
        var previous = DueKey.Encode(1_700_000_000_000, "record-é");

        var (parsedNext, parsedPrevious) = MarkerValue.Parse(MarkerValue.Encode(next, previous));

        Assert.Equal(next, parsedNext);
        Assert.Equal(previous, parsedPrevious);
    }

    // A waiting record's key starts with 0xFE, the byte after the flag: it must not be read as a previous key's length.
    [Fact]
    public void Parse_AMarkerNamingAWaitingRecord_ReturnsItsKeyAndThePreviousTimer()
    {
        var waiting = HoldKey.Waiting([0xFE, .. new byte[32]], 7);
        var previous = DueKey.Encode(42, "a");

        var (alone, none) = MarkerValue.Parse(MarkerValue.Encode(waiting, null));
        var (next, parsedPrevious) = MarkerValue.Parse(MarkerValue.Encode(waiting, previous));

        Assert.Equal(waiting, alone);
        Assert.Null(none);
        Assert.Equal(waiting, next);
        Assert.Equal(previous, parsedPrevious);
    }

    // Markers written before the previous key was kept are the next timer's key alone: a store restored from them must
    // still find the timer each names.
    [Fact]
    public void Parse_AMarkerWithoutAPreviousKey_ReturnsItAsTheNextKey()
    {
        var plain = DueKey.Encode(1_700_000_000_000, "old");

        var (next, previous) = MarkerValue.Parse(plain);

        Assert.Equal(plain, next);
        Assert.Null(previous);
        Assert.Equal(plain, MarkerValue.Encode(plain, null));
    }

    [Fact]
    public void Encode_APreviousKeyOverItsLengthField_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MarkerValue.Encode([1], new byte[ushort.MaxValue + 1]));
    }
}
