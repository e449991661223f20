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
    public void Decode_ReturnsDueTimeAndTellsTheIdWithOrWithoutTheOffset()
    {
        var key = DueKey.Encode(42_000, "record-é", 7);

        Assert.Equal(42_000, DueKey.DueAtMs(key));
        Assert.True(DueKey.IsOf(key, "record-é"));
        Assert.True(DueKey.IsOf(DueKey.Encode(42_000, "record-é"), "record-é"));
        Assert.False(DueKey.IsOf(key, "record"));
        Assert.False(DueKey.IsOf(key, "record-é2"));
    }

    // Two records of one id due at one millisecond (a delayed write and its replay to another target) keep a timer each.
    [Fact]
    public void Encode_SameDueTimeAndIdOfTwoRecords_AreTwoKeysDueThen()
    {
        var first = DueKey.Encode(42_000, "order-7", 3);
        var second = DueKey.Encode(42_000, "order-7", 9);

        Assert.NotEqual(first, second);
        Assert.Equal(42_000, DueKey.DueAtMs(second));
        Assert.True(ByteComparer.Instance.Compare(second, DueKey.UpperBound(42_000)) < 0);
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
