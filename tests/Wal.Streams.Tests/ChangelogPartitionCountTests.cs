using Confluent.Kafka;
using Wal.Kafka.Embedded;
using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

/// <summary>
/// A changelog whose partition count differs from its sub-topology's source topics (an input grown with
/// <c>kafka-topics --alter</c>, say): the thread stops naming both topics and both counts.
/// </summary>
public sealed class ChangelogPartitionCountTests
{
    [Fact]
    public async Task StartAsync_ChangelogHasFewerPartitionsThanTheSource_FailsNamingTheTopicsAndCounts()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", partitions: 3);
        cluster.CreateTopic("out", partitions: 3);
        cluster.CreateTopic($"grown-app-{CountingProcessor.StoreName}-changelog", partitions: 2);
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "grown-app"));

        await streams.StartAsync();
        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Error, "the Error state");

        var error = Assert.IsType<StreamsException>(streams.FatalError);
        Assert.Contains("'grown-app-counts-changelog' has 2 partitions", error.Message, StringComparison.Ordinal);
        Assert.Contains("source topic 'in' has 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_ChangelogHasMorePartitionsThanTheSource_FailsNamingTheTopicsAndCounts()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", partitions: 1);
        cluster.CreateTopic("out", partitions: 1);
        cluster.CreateTopic($"recreated-app-{CountingProcessor.StoreName}-changelog", partitions: 2);
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "recreated-app"));

        await streams.StartAsync();
        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Error, "the Error state");

        var error = Assert.IsType<StreamsException>(streams.FatalError);
        Assert.Contains("'recreated-app-counts-changelog' has 2 partitions", error.Message, StringComparison.Ordinal);
        Assert.Contains("source topic 'in' has 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_ChangelogNotCreated_RunsWithoutCreatingItAtTheBrokersDefaultCount()
    {
        // The mock cluster creates a topic a metadata request names, with its default count (4): a check asking for the
        // changelog by name created it so and then refused it against the source's 3.
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", partitions: 3);
        cluster.CreateTopic("out", partitions: 3);
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), KafkaTestKit.Config(cluster, "uncreated-app"));

        await streams.StartAsync();
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 6, perKey: 1));
        var output = await KafkaTestKit.ReadUntilAsync(
            cluster, "out", Deserializers.Utf8, Deserializers.Int64, read => read.Count >= 6 || streams.State == KafkaStreamsState.Error);

        Assert.True(streams.State == KafkaStreamsState.Running, $"{streams.State}: {streams.FatalError?.Message}");
        Assert.Equal(6, output.Count);
    }

    [Fact]
    public void Check_SourceGrownAfterAPass_FailsOnlyForATaskOfANewPartition()
    {
        var counts = new Dictionary<string, int?> { ["in"] = 2, ["app-counts-changelog"] = 2 };
        var lookups = 0;
        var check = new ChangelogPartitionCheck("app", topic => { lookups++; return counts[topic]; });
        var subtopology = Counting(Stores.InMemoryKeyValueStore("counts"));

        check.Check(subtopology, partition: 0);
        var afterFirstPass = lookups;
        counts["in"] = 3;
        check.Check(subtopology, partition: 1);

        Assert.Equal(afterFirstPass, lookups);
        var error = Assert.Throws<StreamsException>(() => check.Check(subtopology, partition: 2));
        Assert.Contains("'app-counts-changelog' has 2 partitions, but source topic 'in' has 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_ChangelogMissingOrStoreUnlogged_Passes()
    {
        var lookups = new List<string>();
        var check = new ChangelogPartitionCheck("app", topic => { lookups.Add(topic); return topic == "in" ? 3 : null; });

        check.Check(Counting(Stores.InMemoryKeyValueStore("counts")), partition: 0);
        check.Check(Counting(Stores.InMemoryKeyValueStore("unlogged").WithLoggingDisabled(), id: 1), partition: 0);

        Assert.Equal(["in", "app-counts-changelog"], lookups);
    }

    private static Subtopology Counting(IStoreBuilder store, int id = 0) => new(id, id.ToString(System.Globalization.CultureInfo.InvariantCulture), [], ["in"], [store]);
}
