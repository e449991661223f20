using System.Diagnostics;
using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>Wall-clock punctuation in a running <see cref="KafkaStreams"/> whose input is idle.</summary>
public sealed class WallClockPunctuationTests
{
    [Fact]
    public async Task Punctuate_IdleInputLongPollTimeout_FiresOnItsShortIntervalNotOncePerPoll()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("idle-in", 1);
        using var fired = new SemaphoreSlim(0);
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "idle-in")
            .AddProcessor("ticker", () => new Ticking(TimeSpan.FromMilliseconds(20), () => fired.Release()), "source")
            .Build();

        // Punctuators run between polls: without bounding the idle poll by the next punctuation, this 2 s poll
        // timeout would allow about one fire per 2 s instead of one per 20 ms.
        var config = KafkaTestKit.Config(cluster, "idle-punctuation-app") with { PollTimeout = TimeSpan.FromSeconds(2) };
        await using var streams = new KafkaStreams(topology, config);
        await streams.StartAsync();
        var firstFired = await fired.WaitAsync(TimeSpan.FromSeconds(30));

        // Count only fires from here on: 20 within 2 s, where a punctuator held back by 2 s polls needs ~40 s.
        while (fired.Wait(0))
        {
        }

        var window = Stopwatch.StartNew();
        var inTwoSeconds = 0;
        while (inTwoSeconds < 20 && await fired.WaitAsync(Remaining(window, TimeSpan.FromSeconds(2))))
        {
            inTwoSeconds++;
        }

        await streams.CloseAsync();

        Assert.True(firstFired, "the punctuator never fired");
        // 100 intervals fit in 2 s; the bound leaves room for a loaded machine but not for 2 s polls.
        Assert.True(inTwoSeconds >= 20, $"only {inTwoSeconds} fires in 2 s of a 20 ms punctuator");
    }

    private static TimeSpan Remaining(Stopwatch window, TimeSpan length) =>
        length > window.Elapsed ? length - window.Elapsed : TimeSpan.Zero;

    private sealed class Ticking(TimeSpan interval, Action onFire) : Processor<string, string, string, string>
    {
        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            context.Schedule(interval, PunctuationType.WallClockTime, _ =>
            {
                onFire();
                return default;
            });
        }

        public override ValueTask ProcessAsync(Record<string, string> record) => default;
    }
}
