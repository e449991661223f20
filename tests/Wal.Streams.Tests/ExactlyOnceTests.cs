using Confluent.Kafka;
using Wal.Kafka.Embedded;

namespace Wal.Streams.Tests;

/// <summary>Exactly-once runs its commits as Kafka transactions (init, begin, send offsets, commit) against the mock cluster.</summary>
public sealed class ExactlyOnceTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public async Task ExactlyOnce_CountingTopology_OutputsAndOffsetsCommitTogether()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "eos-app", partitions: 2);
        var config = KafkaTestKit.Config(cluster, "eos-app") with { ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce, CommitInterval = null };
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out"), config, new TestOutputLoggerFactory(log));

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 10, perKey: 10));
        await streams.StartAsync();
        var output = await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 100, isolation: IsolationLevel.ReadCommitted);
        await streams.CloseAsync();

        Assert.Equal(KafkaStreamsState.NotRunning, streams.State);
        Assert.Equal(100, output.Count);
        Assert.All(output.GroupBy(r => r.Message.Key), g => Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), g.Select(r => r.Message.Value)));
        // librdkafka's mock cluster accepts TxnOffsetCommit and EndTxn but neither stores the offsets nor writes
        // transaction markers (aborted records stay visible), so committed offsets and abort semantics cannot be
        // asserted here; they need a real broker (docker-compose).
    }

    /// <summary>
    /// A commit that fails while partitions are revoked (a rebalance) leaves the producer's transaction in an abortable
    /// state: Java Kafka Streams aborts it as it closes the tasks dirty. The thread must go on with its new tasks.
    /// </summary>
    [Fact]
    public async Task ExactlyOnce_CommitFailsDuringRevocation_TransactionAbortedAndThreadGoesOn()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "eos-revoke-app", partitions: 2);
        // No periodic commit during the test: the only commit before the second instance's join is the revocation's.
        var config = KafkaTestKit.Config(cluster, "eos-revoke-app") with
        {
            ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce,
            CommitInterval = TimeSpan.FromMinutes(5),
            TransactionTimeout = TimeSpan.FromMinutes(5),
        };
        await using var first = new KafkaStreams(CountingProcessor.Topology("in", "out"), config, new TestOutputLoggerFactory(log));
        await using var second = new KafkaStreams(CountingProcessor.Topology("in", "out"), config with { StateDirectory = config.StateDirectory + "-2" });

        await first.StartAsync();
        await KafkaTestKit.WaitForAsync(() => first.State == KafkaStreamsState.Running, "the first instance to run");
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 10, perKey: 1));
        await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 10);

        // 30 = GROUP_AUTHORIZATION_FAILED: librdkafka makes the transaction abortable (KafkaTxnRequiresAbortException).
        cluster.PushRequestErrors(KafkaApi.AddOffsetsToTxn, 30);
        await second.StartAsync();
        await KafkaTestKit.WaitForAsync(
            () => first.State == KafkaStreamsState.Error || (first.State == KafkaStreamsState.Running && second.State == KafkaStreamsState.Running),
            "both instances to run after the rebalance");
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 10, perKey: 1, startAt: 1));
        await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 20 || first.State == KafkaStreamsState.Error);

        Assert.Null(first.FatalError);
        Assert.NotEqual(KafkaStreamsState.Error, first.State);
    }
}
