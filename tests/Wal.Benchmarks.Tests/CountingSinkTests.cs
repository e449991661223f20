using System.Buffers.Binary;
using Wal.Benchmarks.DelayQueue;
using Wal.Sinks;

namespace Wal.Benchmarks.Tests;

/// <summary>
/// The delay-queue benchmark's lateness figures and its pass line come from this sink: a timer that fired early, or one
/// of the million meant to stay pending, must show, not vanish into the quantiles.
/// </summary>
public sealed class CountingSinkTests
{
    [Fact]
    public async Task LatenessQuantile_IsTheNearestRank()
    {
        var sink = new CountingSink(100);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var lateBy = 1; lateBy <= 100; lateBy++)
        {
            // Due lateBy seconds ago: the sink's clock moves by milliseconds while this runs, never by seconds.
            await sink.DeliverAsync(Timer(now - (lateBy * 1_000L)));
        }

        Assert.Equal(99, Math.Round(sink.LatenessQuantile(0.99) / 1_000));
        Assert.Equal(50, Math.Round(sink.LatenessQuantile(0.5) / 1_000));
        Assert.Equal(100, Math.Round(sink.LatenessQuantile(1) / 1_000));
        Assert.Equal(1, Math.Round(sink.LatenessQuantile(0) / 1_000));
    }

    [Fact]
    public async Task ATimerDeliveredBeforeItsDueTime_IsCountedEarly()
    {
        var sink = new CountingSink(10);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        await sink.DeliverAsync(Timer(now - 5));
        await sink.DeliverAsync(Timer(now + 60_000));

        Assert.Equal((2, 1), (sink.Timed, sink.Early));
        Assert.True(sink.LatenessQuantile(0) < 0);
    }

    [Fact]
    public async Task ATimerMeantToStayPending_IsCountedApartFromTheTimedOnes()
    {
        var sink = new CountingSink(10);

        await sink.DeliverAsync(Timer(0));

        Assert.Equal((0, 1), (sink.Timed, sink.PendingDelivered));
        Assert.True(double.IsNaN(sink.LatenessQuantile(0.99)));
    }

    private static Delivery Timer(long dueMs)
    {
        var payload = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64BigEndian(payload, dueMs);
        return new Delivery("t", new Wal.Schemas.V1.Target(), payload, Version: 1);
    }
}
