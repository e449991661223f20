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
        var fires = new List<long>();
        var topology = new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, "idle-in")
            .AddProcessor("ticker", () => new Ticking(TimeSpan.FromMilliseconds(20), () => { lock (fires) { fires.Add(Stopwatch.GetTimestamp()); } }), "source")
            .Build();

        // Punctuators run between polls: without bounding the idle poll by the next punctuation, this 2 s poll
        // timeout would allow about one fire per 2 s instead of one per 20 ms.
        var config = KafkaTestKit.Config(cluster, "idle-punctuation-app") with { PollTimeout = TimeSpan.FromSeconds(2) };
        await using var streams = new KafkaStreams(topology, config);
        await streams.StartAsync();
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
        while (Count(fires) < 1 && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(10);
        }

        // Wait for 20 more fires, but no longer than 2 s: a punctuator held back by 2 s polls needs ~40 s for them.
        var start = Stopwatch.GetTimestamp();
        var first = Count(fires);
        while (Count(fires) - first < 20 && Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(2))
        {
            await Task.Delay(10);
        }

        var inTwoSeconds = Count(fires) - first;
        await streams.CloseAsync();

        Assert.True(first >= 1, "the punctuator never fired");
        // 100 intervals fit in 2 s; the bound leaves room for a loaded machine but not for 2 s polls.
        Assert.True(inTwoSeconds >= 20, $"only {inTwoSeconds} fires in 2 s of a 20 ms punctuator");
    }

    private static int Count(List<long> fires)
    {
        lock (fires)
        {
            return fires.Count;
        }
    }

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
