using Confluent.Kafka;
using Wal.Streams.TestDriver;

namespace Wal.Streams.Tests;

/// <summary>Kafka Streams' punctuation semantics, driven by the test driver's manual clock and piped timestamps.</summary>
public sealed class PunctuationTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void WallClock_FirstFireAtRegistrationPlusInterval()
    {
        var fired = new List<DateTimeOffset>();
        using var driver = Driver(PunctuationType.WallClockTime, TimeSpan.FromSeconds(10), fired);

        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(9));
        Assert.Empty(fired);

        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(1));
        Assert.Equal([Start.AddSeconds(10)], fired);
    }

    [Fact]
    public void WallClock_MissedIntervals_FireOnceAndKeepAbsoluteSchedule()
    {
        var fired = new List<DateTimeOffset>();
        using var driver = Driver(PunctuationType.WallClockTime, TimeSpan.FromSeconds(10), fired);

        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(35));
        Assert.Equal([Start.AddSeconds(35)], fired);

        // Next fire is on the original grid (40 s), not 35 + 10.
        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(4));
        Assert.Single(fired);
        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(1));
        Assert.Equal([Start.AddSeconds(35), Start.AddSeconds(40)], fired);
    }

    [Fact]
    public void WallClock_LateAdvance_DoesNotShiftLaterFireTimes()
    {
        var fired = new List<DateTimeOffset>();
        using var driver = Driver(PunctuationType.WallClockTime, TimeSpan.FromSeconds(10), fired);

        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(13));
        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(7));

        Assert.Equal([Start.AddSeconds(13), Start.AddSeconds(20)], fired);
    }

    [Fact]
    public void StreamTime_FiresOnRecordsAlignedToInterval_NotOnWallClock()
    {
        var fired = new List<DateTimeOffset>();
        using var driver = Driver(PunctuationType.StreamTime, TimeSpan.FromSeconds(10), fired);
        var input = driver.CreateInputTopic("in", Serializers.Utf8, Serializers.Utf8);
        var epoch = DateTimeOffset.FromUnixTimeSeconds(1000);

        driver.AdvanceWallClockTime(TimeSpan.FromMinutes(5));
        Assert.Empty(fired);

        input.PipeInput("k", "v", epoch.AddSeconds(1));
        input.PipeInput("k", "v", epoch.AddSeconds(5));
        input.PipeInput("k", "v", epoch.AddSeconds(10));
        input.PipeInput("k", "v", epoch.AddSeconds(2));
        input.PipeInput("k", "v", epoch.AddSeconds(45));

        // First record fires (aligned to 0), then the 1010 s grid point, then 45 s later once for several missed intervals.
        Assert.Equal([epoch.AddSeconds(1), epoch.AddSeconds(10), epoch.AddSeconds(45)], fired);
    }

    [Fact]
    public void Cancel_StopsFutureFires()
    {
        var fired = new List<DateTimeOffset>();
        ICancellable? handle = null;
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("p", () => new Scheduling(PunctuationType.WallClockTime, TimeSpan.FromSeconds(1), t =>
            {
                fired.Add(t);
                handle!.Cancel();
            }, h => handle = h), "source")
            .Build();
        using var driver = new TopologyTestDriver(topology, initialWallClockTime: Start);

        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(1));
        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(5));

        Assert.Single(fired);
    }

    [Fact]
    public void Punctuator_Forwarding_ReachesSinkWithoutRecordMetadata()
    {
        RecordMetadata? metadataInPunctuator = new("x", 0, 0);
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("p", () => new Emitting(m => metadataInPunctuator = m), "source")
            .AddSink("sink", "out", Serializers.Utf8, Serializers.Utf8, "p")
            .Build();
        using var driver = new TopologyTestDriver(topology, initialWallClockTime: Start);

        driver.AdvanceWallClockTime(TimeSpan.FromSeconds(1));

        var record = driver.CreateOutputTopic("out", Deserializers.Utf8, Deserializers.Utf8).ReadRecord();
        Assert.Equal("tick", record.Value);
        Assert.Equal(Start.AddSeconds(1).ToUnixTimeMilliseconds(), record.Timestamp);
        Assert.Null(metadataInPunctuator);
    }

    private static TopologyTestDriver Driver(PunctuationType type, TimeSpan interval, List<DateTimeOffset> fired)
    {
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "in")
            .AddProcessor("p", () => new Scheduling(type, interval, fired.Add, _ => { }), "source")
            .Build();
        return new TopologyTestDriver(topology, initialWallClockTime: Start);
    }

    private sealed class Scheduling(PunctuationType type, TimeSpan interval, Action<DateTimeOffset> onFire, Action<ICancellable> onScheduled)
        : Processor<string, string, string, string>
    {
        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            onScheduled(context.Schedule(interval, type, t =>
            {
                onFire(t);
                return default;
            }));
        }

        public override ValueTask ProcessAsync(Record<string, string> record) => default;
    }

    private sealed class Emitting(Action<RecordMetadata?> observe) : Processor<string, string, string, string>
    {
        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            context.Schedule(TimeSpan.FromSeconds(1), PunctuationType.WallClockTime, t =>
            {
                observe(context.RecordMetadata);
                return context.ForwardAsync(new Record<string, string>("k", "tick", t.ToUnixTimeMilliseconds()));
            });
        }

        public override ValueTask ProcessAsync(Record<string, string> record) => default;
    }
}
