using Wal.Topology.Delay;

namespace Wal.Topology.Tests;

public sealed class DueKeyTests
{
    [Fact]
    public void Encode_ByteOrder_IsDueTimeOrder()
    {
        var times = new long[] { 0, 1, 255, 256, 65_535, 1_700_000_000_000, long.MaxValue - 1 };

        var keys = times.Select(t => DueKey.Encode(t, "id")).ToList();
        var sorted = keys.OrderBy(k => k, ByteComparer.Instance).ToList();

        Assert.Equal(keys, sorted);
    }

    [Fact]
    public void UpperBound_IncludesTimersDueNowAndExcludesLaterOnes()
    {
        var now = 1_700_000_000_000;
        var bound = DueKey.UpperBound(now);

        Assert.True(ByteComparer.Instance.Compare(DueKey.Encode(now, "zzzz"), bound) < 0);
        Assert.True(ByteComparer.Instance.Compare(DueKey.Encode(now + 1, string.Empty), bound) >= 0);
    }

    [Fact]
    public void Decode_ReturnsDueTimeAndId()
    {
        var key = DueKey.Encode(42_000, "record-é");

        Assert.Equal(42_000, DueKey.DueAtMs(key));
        Assert.Equal("record-é", DueKey.Id(key));
    }

    [Fact]
    public void Encode_NegativeTime_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DueKey.Encode(-1, "x"));
    }

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static readonly ByteComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
