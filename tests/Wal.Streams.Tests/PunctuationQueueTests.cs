using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

/// <summary>Fire times of punctuators on one clock, including a wall clock that steps back.</summary>
public sealed class PunctuationQueueTests
{
    private const long Start = 1_800_000_000_000;

    [Fact]
    public async Task ClockSteppedBackAnHour_FiresAtOnceAndKeepsItsIntervalFromThere()
    {
        // Timers driven by a wall-clock punctuator stopped for as long as the step: a 1 s delay came an hour late.
        var fired = new List<long>();
        var slowFired = new List<long>();
        var queue = new PunctuationQueue();
        queue.Add(new PunctuationSchedule("timers", 1_000, Start + 1_000, at => Fire(fired, at)));
        queue.Add(new PunctuationSchedule("slow", 60_000, Start + 60_000, at => Fire(slowFired, at)));
        Assert.True(await queue.MayPunctuateAsync(Start + 1_000));

        var back = Start - 3_600_000;
        Assert.True(await queue.MayPunctuateAsync(back + 1), "nothing fired for the hour the clock stepped back");
        Assert.False(await queue.MayPunctuateAsync(back + 500));
        Assert.True(await queue.MayPunctuateAsync(back + 1_001));
        await queue.MayPunctuateAsync(back + 60_001);

        Assert.Equal([Start + 1_000, back + 1, back + 1_001, back + 60_001], fired);
        Assert.Equal([back + 1, back + 60_001], slowFired);
    }

    [Fact]
    public async Task ClockSteppedBackLessThanTheEarliestsIntervalButMoreThanAnothers_TheOtherFiresAtOnce()
    {
        // An hourly punctuator due first hides a step of half an hour from a check of the earliest schedule alone, and the
        // 1 s timers waited the whole half hour.
        var fired = new List<long>();
        var hourlyFired = new List<long>();
        var queue = new PunctuationQueue();
        queue.Add(new PunctuationSchedule("hourly", 3_600_000, Start + 10, at => Fire(hourlyFired, at)));
        queue.Add(new PunctuationSchedule("timers", 1_000, Start + 500, at => Fire(fired, at)));
        Assert.False(await queue.MayPunctuateAsync(Start));

        var back = Start - 1_800_000;
        Assert.True(await queue.MayPunctuateAsync(back), "the 1 s timers waited for the clock to make up a half-hour step");
        Assert.True(await queue.MayPunctuateAsync(back + 1_000));

        Assert.Equal([back, back + 1_000], fired);
        Assert.Empty(hourlyFired);
    }

    [Fact]
    public async Task ClockGoingForward_FiresOnTheOriginalGridOncePerCatchUp()
    {
        var fired = new List<long>();
        var queue = new PunctuationQueue();
        queue.Add(new PunctuationSchedule("timers", 1_000, Start + 1_000, at => Fire(fired, at)));

        Assert.False(await queue.MayPunctuateAsync(Start + 999));
        Assert.True(await queue.MayPunctuateAsync(Start + 5_500));
        Assert.False(await queue.MayPunctuateAsync(Start + 5_999));
        Assert.True(await queue.MayPunctuateAsync(Start + 6_000));

        Assert.Equal([Start + 5_500, Start + 6_000], fired);
    }

    private static ValueTask Fire(List<long> fired, DateTimeOffset at)
    {
        fired.Add(at.ToUnixTimeMilliseconds());
        return ValueTask.CompletedTask;
    }
}
