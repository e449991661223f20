using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Kafka.Embedded;
using Wal.Streams.Internals;

namespace Wal.Streams.Tests;

/// <summary>
/// The last commit of a clean close, refused by the broker. Under at-least-once a refused offset commit only means the
/// records since the last commit are processed again, so the thread ends NotRunning, its tasks closed without a new
/// checkpoint; under exactly-once the transaction holding the task's output is not committed, and the close fails as before.
/// </summary>
public sealed class ShutdownCommitTests(Xunit.Abstractions.ITestOutputHelper log)
{
    // GROUP_AUTHORIZATION_FAILED: not retried by librdkafka, so the commit fails at once.
    private const int GroupAuthorizationFailed = 30;

    [Fact]
    public async Task CloseAsync_AtLeastOnceFinalOffsetCommitRefused_EndsNotRunningKeepingTheLastCommitsCheckpoint()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        KafkaStreamsTests.CreateTopics(cluster, "refused-close-app", partitions: 1);
        var config = KafkaTestKit.Config(cluster, "refused-close-app");
        var checkpoint = Path.Combine(config.StateDirectory, "refused-close-app", "0_0", OffsetCheckpoint.FileName);
        var loggers = new RecordingLoggerFactory();
        await using var streams = new KafkaStreams(CountingProcessor.Topology("in", "out", Stores.PersistentKeyValueStore(CountingProcessor.StoreName)), config, loggers);
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 3));
        await streams.StartAsync();
        await KafkaTestKit.WaitForAsync(() => CheckpointSays(checkpoint, "refused-close-app-counts-changelog 0 3"), "the first records' commit to be checkpointed");

        // Every commit from here on refused, the periodic ones and the close's.
        cluster.PushRequestErrors(KafkaApi.OffsetCommit, Enumerable.Repeat(GroupAuthorizationFailed, 200).ToArray());
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 1, perKey: 3, startAt: 3));
        await KafkaTestKit.ReadUntilAsync(cluster, "out", Deserializers.Utf8, Deserializers.Int64, r => r.Count >= 6);
        await streams.CloseAsync();
        cluster.ClearRequestErrors(KafkaApi.OffsetCommit);

        Assert.Equal(3, KafkaTestKit.CommittedOffsetSum(cluster, "refused-close-app", "in", 1));
        Assert.Equal(KafkaStreamsState.NotRunning, streams.State);
        Assert.Null(streams.FatalError);
        Assert.Contains(loggers.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("final commit", StringComparison.Ordinal));
        Assert.DoesNotContain(loggers.Lines, l => l.Level >= LogLevel.Error);
        // A refused commit can mean the group gave the task to another member, whose changelog records interleave with
        // this one's: checkpointed at this thread's own last record, the next start here would skip restoring theirs.
        Assert.True(CheckpointSays(checkpoint, "refused-close-app-counts-changelog 0 3"), await File.ReadAllTextAsync(checkpoint));
    }

    private static bool CheckpointSays(string path, string line)
    {
        try
        {
            return File.ReadAllText(path).Contains(line, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            // Not written yet, or being replaced.
            return false;
        }
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
