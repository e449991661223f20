using Wal.Kafka.Embedded;
using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

/// <summary>
/// A partition assigned to a restoring task is paused at the end of the poll that assigned it; if the partition was
/// revoked (and went elsewhere) within that same poll, the pause must not stick to it for when it comes back.
/// </summary>
public sealed class PendingPauseTests
{
    [Fact]
    public async Task PartitionRevokedInThePollThatAssignedIt_ComesBackLater_IsNotLeftPaused()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 2);
        cluster.CreateTopic("out", 2);
        cluster.CreateTopic("pause-app-counts-changelog", 2);
        // Something to restore in each changelog partition, so a new task starts restoring (its partition to be paused).
        await KafkaTestKit.ProduceAsync(cluster, "pause-app-counts-changelog", Enumerable.Range(0, 20).Select(i => ($"seed{i}", "12345678")));
        var config = KafkaTestKit.Config(cluster, "pause-app");
        var loggers = new RecordingLoggerFactory();
        // An idle poll of the first instance lasts 10 s (no input yet): the second instance's join
        // revokes its partitions within the poll that assigned them.
        await using var first = new KafkaStreams(Topology(), config with { PollTimeout = TimeSpan.FromSeconds(10) }, loggers);
        // Same state directory: the second's checkpoints are the first's when the tasks come back, which then need no restore.
        var second = new KafkaStreams(Topology(), config) { IgnoresStateDirectoryLock = true };

        await first.StartAsync();
        await KafkaTestKit.WaitForAsync(() => loggers.Lines.Any(l => l.Message.Contains("was assigned", StringComparison.Ordinal)), "the first assignment");
        await second.StartAsync();
        await KafkaTestKit.WaitForAsync(() => first.State == KafkaStreamsState.Running && second.State == KafkaStreamsState.Running, "both instances to run");
        await second.CloseAsync();
        await KafkaTestKit.WaitForAsync(
            () => first.State == KafkaStreamsState.Running && first.Threads[0].State == StreamThreadState.Running
                && loggers.Lines.Count(l => l.Message.Contains("was assigned", StringComparison.Ordinal) && l.Message.Contains("in [[0]]", StringComparison.Ordinal) && l.Message.Contains("in [[1]]", StringComparison.Ordinal)) >= 2,
            "the first instance to get both partitions back");

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 10, perKey: 1));
        var output = await KafkaTestKit.ReadUntilAsync(
            cluster, "out", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Int64,
            r => r.Select(x => x.Message.Key).Distinct().Count() >= 10, TimeSpan.FromSeconds(20));
        Assert.Equal(10, output.Select(r => r.Message.Key).Distinct().Count());
    }

    private static Topology Topology() => CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName));
}
