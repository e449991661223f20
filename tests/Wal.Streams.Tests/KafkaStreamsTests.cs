using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

public sealed class KafkaStreamsTests
{
    [Fact]
    public async Task StartAsync_CountingTopology_ProcessesCommitsAndCloses()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        CreateTopics(cluster, "count-app", partitions: 2);
        var states = new List<KafkaStreamsState>();
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "count-app"));
        streams.StateChanged += (_, e) => { lock (states) { states.Add(e.NewState); } };

        await KafkaTestKit.ProduceAsync(cluster, "in", Records(keys: 10, perKey: 10));
        await streams.StartAsync();
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 100);
        await streams.CloseAsync();

        Assert.Equal(100, output.Count);
        Assert.All(output.GroupBy(r => r.Message.Key), g => Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), g.Select(r => r.Message.Value)));
        Assert.Equal(100, KafkaTestKit.CommittedOffsetSum(cluster, "count-app", "in", 2));
        Assert.Equal(KafkaStreamsState.NotRunning, streams.State);
        lock (states)
        {
            Assert.Equal([KafkaStreamsState.Rebalancing, KafkaStreamsState.Running], states.Take(2));
        }
    }

    [Fact]
    public async Task StartAsync_NewInstanceAfterClose_RestoresStoreFromChangelog()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        CreateTopics(cluster, "restore-app", partitions: 2);
        await KafkaTestKit.ProduceAsync(cluster, "in", Records(keys: 5, perKey: 4));
        await using (var first = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "restore-app")))
        {
            await first.StartAsync();
            await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 20);
            await first.CloseAsync();
        }

        // A fresh state directory: the in-memory store can only come back from the changelog.
        await using var second = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "restore-app"));
        await second.StartAsync();
        await KafkaTestKit.ProduceAsync(cluster, "in", Records(keys: 5, perKey: 1));
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 25);
        await second.CloseAsync();

        Assert.Equal(25, output.Count);
        Assert.All(output.Skip(20).Select(r => r.Message.Value), v => Assert.Equal(5L, v));
    }

    /// <summary>
    /// Many tasks restoring at once, on one thread: their changelogs are added to the restore consumer one task after another
    /// and leave it one by one as each reaches its end. Replacing the whole assignment at each step made librdkafka 2.0.2 stop
    /// a partition twice and abort the process (assertion <c>rktp_started</c> in <c>rd_kafka_assignment_partition_stopped</c>).
    /// Each round starts on an empty state directory, so every task restores its whole changelog.
    /// </summary>
    [Fact]
    public async Task StartAsync_ManyTasksRestoringTogether_EachStoreComesBackWhole()
    {
        const int partitions = 8, keys = 24;
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        CreateTopics(cluster, "many-restore-app", partitions);
        await KafkaTestKit.ProduceAsync(cluster, "in", Records(keys, perKey: 5));
        var expected = keys * 5;
        for (var round = 1; round <= 2; round++)
        {
            await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "many-restore-app"));
            await streams.StartAsync();
            await KafkaTestKit.ProduceAsync(cluster, "in", Records(keys, perKey: 1, startAt: 4 + round));
            expected += keys;
            var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= expected);
            await streams.CloseAsync();

            Assert.Equal(expected, output.Count);
            // Each key counts its whole history once: a store that came back partly would count again from less.
            var counted = Enumerable.Range(1, 5 + round).Select(i => (long)i);
            Assert.All(output.GroupBy(r => r.Message.Key), g => Assert.Equal(counted, g.Select(r => r.Message.Value)));
        }
    }

    internal static void CreateTopics(EmbeddedKafkaCluster cluster, string applicationId, int partitions)
    {
        cluster.CreateTopic("in", partitions);
        cluster.CreateTopic("out", partitions);
        cluster.CreateTopic($"{applicationId}-{CountingProcessor.StoreName}-changelog", partitions);
    }

    internal static IEnumerable<(string, string)> Records(int keys, int perKey, int startAt = 0) =>
        Enumerable.Range(startAt, perKey).SelectMany(i => Enumerable.Range(0, keys).Select(k => ($"k{k}", $"v{i}")));
}
