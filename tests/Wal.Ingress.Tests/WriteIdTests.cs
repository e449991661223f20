namespace Wal.Ingress.Tests;

public sealed class WriteIdTests
{
    [Fact]
    public void New_AnyTime_IsAVersion7UuidCarryingThatMillisecond()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_123);

        var id = Guid.Parse(WriteId.New(now));

        Assert.Equal(7, id.Version);
        Assert.Equal(0b10, id.Variant >> 2);
        var bytes = id.ToByteArray(bigEndian: true);
        var millis = bytes.Take(6).Aggregate(0L, (value, b) => (value << 8) | b);
        Assert.Equal(now.ToUnixTimeMilliseconds(), millis);
    }

    [Fact]
    public void New_ManyInTheSameMillisecondOnManyThreads_AreAllDistinct()
    {
        var now = DateTimeOffset.UtcNow;
        // Several buffer refills per thread, so reuse of a stretch of random bytes would show.
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                ids.Add(WriteId.New(now));
            }
        });

        Assert.Equal(20_000, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void New_LaterMillisecond_SortsAfterEarlierOnes()
    {
        var earlier = WriteId.New(DateTimeOffset.FromUnixTimeMilliseconds(1_000));
        var later = WriteId.New(DateTimeOffset.FromUnixTimeMilliseconds(1_001));

        Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} should sort before {later}");
    }
}
