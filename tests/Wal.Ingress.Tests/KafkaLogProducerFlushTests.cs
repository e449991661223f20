using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka.Embedded;

namespace Wal.Ingress.Tests;

/// <summary>What the count KafkaLogProducer.Flush returns means while writes keep arriving.</summary>
public sealed class KafkaLogProducerFlushTests
{
    private const string Topic = "orders";

    [Fact]
    public async Task Flush_WritesKeepArrivingAsOthersAreAnswered_ReturnsACountOnlyOnceItsTimeoutHasPassed()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic(Topic);
        using var producer = new KafkaLogProducer(new IngressOptions { BootstrapServers = kafka.BootstrapServers }, NullLogger<KafkaLogProducer>.Instance);
        // One write at a time, each started as the one before is answered, as a stream whose slots are all taken
        // produces its next writes while IngressTestHost.Settle flushes. The writer spins rather than awaits, and
        // waits a varying few microseconds more, so that some writes land in the moment between librdkafka's
        // flush seeing none left and Confluent reading the count, which a thread-pool hop rarely hits.
        using var stop = new CancellationTokenSource();
        var chain = Task.Factory.StartNew(() =>
        {
            var delay = 0;
            while (!stop.IsCancellationRequested)
            {
                var answered = producer.ProduceAsync(Topic, [1], [1], Topic, null);
                while (!answered.IsCompleted)
                {
                    Thread.SpinWait(1);
                }

                Thread.SpinWait(delay = (delay + 7) % 200);
            }
        }, TaskCreationOptions.LongRunning);

        var timeout = TimeSpan.FromSeconds(10);
        var early = new List<(int Waiting, TimeSpan After)>();
        var flushes = 0;
        // Tens of thousands of flushes a second: on the old code each run had some return early (7 to 62 of about 200,000).
        for (var begun = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(begun) < TimeSpan.FromSeconds(3); flushes++)
        {
            var started = Stopwatch.GetTimestamp();
            var waiting = producer.Flush(timeout);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (waiting > 0 && elapsed < timeout)
            {
                early.Add((waiting, elapsed));
            }
        }

        await stop.CancelAsync();
        await chain;
        // The old Flush returned Confluent's count as is: "1 still waiting" within microseconds, a record
        // produced just after librdkafka's flush had seen none left.
        Assert.True(early.Count == 0, $"{early.Count} of {flushes} flushes returned a count before their timeout, e.g. {early.FirstOrDefault()}");
        Assert.Equal(0, producer.Flush(timeout));
    }
}
