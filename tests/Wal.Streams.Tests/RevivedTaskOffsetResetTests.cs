using System.Runtime.CompilerServices;
using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>
/// A task revived after store corruption restarts its inputs at their committed offsets; an input without one restarts
/// where the group consumer started it, as its auto.offset.reset says, as Kafka Streams resets such a partition.
/// </summary>
public sealed class RevivedTaskOffsetResetTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public async Task Revive_NoCommittedOffsetAndAutoOffsetResetLatest_RecordsFromBeforeTheStartStaySkipped()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        const string app = "revive-reset-app";
        KafkaStreamsTests.CreateTopics(cluster, app, partitions: 1);
        await KafkaTestKit.ProduceAsync(cluster, "in", [("before-start", "v"), ("before-start", "v")]);
        // No commit while the test runs, so the input has no committed offset when the task is revived.
        var config = KafkaTestKit.Config(cluster, app) with
        {
            CommitInterval = TimeSpan.FromMinutes(5),
            AdditionalConsumerConfig = new Dictionary<string, string> { ["auto.offset.reset"] = "latest" },
        };
        await using var streams = new KafkaStreams(CorruptOnceProcessor.Topology("in", "out", new StrongBox<bool>()), config, new TestOutputLoggerFactory(log));
        await streams.StartAsync();

        await ProbeAsync(cluster, streams, "after-start");
        await KafkaTestKit.ProduceAsync(cluster, "in", [(CorruptOnceProcessor.Trigger, "v")]);
        var output = await ProbeAsync(cluster, streams, "after-revival");

        Assert.Null(streams.FatalError);
        // Sought to the beginning instead, the revived task processed what auto.offset.reset=latest had skipped.
        Assert.DoesNotContain(output, o => o.Message.Key == "before-start");
    }

    [Fact]
    public async Task Revive_NoCommittedOffsetAndAutoOffsetResetLatest_RecordsFromAfterTheStartAreProcessedAgain()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        const string app = "revive-reset-after-app";
        KafkaStreamsTests.CreateTopics(cluster, app, partitions: 1);
        var config = KafkaTestKit.Config(cluster, app) with
        {
            CommitInterval = TimeSpan.FromMinutes(5),
            AdditionalConsumerConfig = new Dictionary<string, string> { ["auto.offset.reset"] = "latest" },
        };
        await using var streams = new KafkaStreams(CorruptOnceProcessor.Topology("in", "out", new StrongBox<bool>()), config, new TestOutputLoggerFactory(log));
        await streams.StartAsync();

        await ProbeAsync(cluster, streams, "after-start");
        // In the input with the trigger, so already there when the revived task's position is chosen: sought to the
        // input's end (where latest starts a new consumer), the task skipped them, and the trigger, processed by nobody.
        await KafkaTestKit.ProduceAsync(cluster, "in", [(CorruptOnceProcessor.Trigger, "v"), ("after-trigger", "v")]);
        var output = await ProbeAsync(cluster, streams, "after-revival");

        Assert.Null(streams.FatalError);
        Assert.Contains(output, o => o.Message.Key == CorruptOnceProcessor.Trigger);
        Assert.Contains(output, o => o.Message.Key == "after-trigger");
    }

    // With latest, a record produced before the consumer looked up the input's end is skipped too: probes go in until one
    // comes out. Returns the output read then.
    private static async Task<List<ConsumeResult<string, long>>> ProbeAsync(EmbeddedKafkaCluster cluster, KafkaStreams streams, string prefix)
    {
        var probes = 0;
        List<ConsumeResult<string, long>> read = [];
        await Eventually.WaitUntilAsync(
            async () =>
            {
                await KafkaTestKit.ProduceAsync(cluster, "in", [($"{prefix}-{probes++}", "v")]);
                read = await KafkaTestKit.ReadUntilAsync(
                    cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Any(o => o.Message.Key.StartsWith(prefix, StringComparison.Ordinal)), TimeSpan.FromSeconds(2));
                return read.Any(o => o.Message.Key.StartsWith(prefix, StringComparison.Ordinal)) || streams.FatalError is not null;
            },
            KafkaTestKit.Deadline,
            $"a record '{prefix}-…' to be processed");
        return read;
    }
}
