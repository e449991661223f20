using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

/// <summary>
/// The last commit of a clean close, refused by the broker. Under at-least-once a refused offset commit only means the
/// records since the last commit are processed again, so the close stays clean; under exactly-once the transaction holding
/// the task's output is not committed, and the close fails as before.
/// </summary>
public sealed class ShutdownCommitTests(Xunit.Abstractions.ITestOutputHelper log)
{
    // GROUP_AUTHORIZATION_FAILED: not retried by librdkafka, so the commit fails at once.
    private const int GroupAuthorizationFailed = 30;

    [Fact]
    public async Task CloseAsync_AtLeastOnceFinalOffsetCommitRefused_EndsNotRunningWithTheStoreCheckpointed()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "refused-close-app", partitions: 1);
        var config = KafkaTestKit.Config(cluster, "refused-close-app");
        var checkpoint = Path.Combine(config.StateDirectory, "refused-close-app", "0_0", OffsetCheckpoint.FileName);
        var loggers = new RecordingLoggerFactory();
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName)), config, loggers);
        // Every commit of this run refused, the periodic ones and the close's.
        cluster.PushRequestErrors(KafkaApi.OffsetCommit, Enumerable.Repeat(GroupAuthorizationFailed, 200).ToArray());

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 3));
        await streams.StartAsync();
        await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 3);
        await streams.CloseAsync();
        cluster.ClearRequestErrors(KafkaApi.OffsetCommit);

        Assert.Equal(0, KafkaTestKit.CommittedOffsetSum(cluster, "refused-close-app", "in", 1));
        Assert.Equal(KafkaStreamsState.NotRunning, streams.State);
        Assert.Null(streams.FatalError);
        Assert.Contains(loggers.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("final commit", StringComparison.Ordinal));
        Assert.DoesNotContain(loggers.Lines, l => l.Level >= LogLevel.Error);
        // Closed cleanly: the store's changelog position is checkpointed, so the next start does not restore it all again.
        Assert.True(File.Exists(checkpoint), "A clean close writes the checkpoint.");
        Assert.Contains("refused-close-app-counts-changelog 0 3", await File.ReadAllTextAsync(checkpoint), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CloseAsync_ExactlyOnceFinalTransactionCommitRefused_EndsInErrorWithoutACheckpoint()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "refused-eos-close-app", partitions: 1);
        // No periodic commit: the close's is the only one, so the refusal below is surely its.
        var config = KafkaTestKit.Config(cluster, "refused-eos-close-app") with
        {
            ProcessingGuarantee = ProcessingGuarantee.ExactlyOnce,
            CommitInterval = TimeSpan.FromMinutes(5),
            TransactionTimeout = TimeSpan.FromMinutes(5),
        };
        var checkpoint = Path.Combine(config.StateDirectory, "refused-eos-close-app", "0_0", OffsetCheckpoint.FileName);
        await using var streams = new KafkaStreams(
            CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName)), config, new TestOutputLoggerFactory(log));

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 3));
        await streams.StartAsync();
        await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 3);
        cluster.PushRequestErrors(KafkaApi.AddOffsetsToTxn, GroupAuthorizationFailed);
        await streams.CloseAsync();

        // The transaction was not committed: its output must not count as done, and the stores may hold its writes.
        Assert.Equal(KafkaStreamsState.Error, streams.State);
        Assert.IsAssignableFrom<KafkaException>(streams.FatalError);
        Assert.False(File.Exists(checkpoint), "A store holding an uncommitted transaction's writes must not be checkpointed.");
    }
}
