using System.Collections.Concurrent;
using Wal.Kafka.Embedded;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// Records fetched for a task that waits for its stores (another thread of this process still holds them) before its
/// partitions are paused: they must be processed once the task opens, not dropped with the fetch position past them.
/// </summary>
public sealed class DeferredTaskRecordsTests
{
    [Fact]
    public async Task RecordsFetchedWhileTheTaskWaitsForItsStores_AreProcessedOnceItOpens()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 1);
        cluster.CreateTopic("out", 1);
        cluster.CreateTopic("deferred-app-counts-changelog", 1);
        // Two instances of one application on one state directory, standing in for two threads of one
        // instance: the second waits for the task's RocksDB store while the first holds it. (Two threads
        // would not do: the first rejoins once released, and the task moving again hides a lost record.)
        var config = KafkaTestKit.Config(cluster, "deferred-app") with { MaxPollInterval = TimeSpan.FromSeconds(6) };
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var oldOwnerBlocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seenByNewOwner = new ConcurrentDictionary<string, bool>();
        var loggers = new RecordingLoggerFactory();
        await using var oldOwner = new KafkaStreams(Topology(async _ =>
        {
            oldOwnerBlocked.TrySetResult();
            // With a deadline: a test that fails before the release must still be able to close this instance.
            await release.Task.WaitAsync(TimeSpan.FromMinutes(2));
        }), config);
        // The new owner's poll blocks for a record for up to its poll timeout, and the assignment
        // comes within a poll: with nothing else to do, it waits in the poll that assigned it the task.
        await using var newOwner = new KafkaStreams(Topology(key =>
        {
            seenByNewOwner[key] = true;
            return Task.CompletedTask;
        }), config with { PollTimeout = TimeSpan.FromSeconds(5) }, loggers)
        {
            IgnoresStateDirectoryLock = true,
        };

        await oldOwner.StartAsync();
        await KafkaTestKit.WaitForAsync(() => oldOwner.State == KafkaStreamsState.Running, "the first instance to run");
        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 10, perKey: 1));
        await oldOwnerBlocked.Task.WaitAsync(KafkaTestKit.Deadline);

        // The old owner, stuck in its processor, falls out of the group (max.poll.interval 6 s);
        // the new one gets the partition but not the store.
        await newOwner.StartAsync();
        await KafkaTestKit.WaitForAsync(
            () => loggers.Lines.Any(l => l.Message.Contains("are still held by another thread", StringComparison.Ordinal)),
            "the new owner to wait for the task's store",
            TimeSpan.FromSeconds(60));

        // The old owner stops without committing (it processed nothing), releasing the store.
        var abandoning = oldOwner.AbandonAsync();
        release.SetResult();
        await abandoning;

        await KafkaTestKit.ProduceAsync(cluster, "in", [("last", "v")]);
        await KafkaTestKit.WaitForAsync(() => seenByNewOwner.ContainsKey("last") || newOwner.FatalError is not null, "the new owner to process the last record");
        Assert.Null(newOwner.FatalError);
        Assert.Equal(KafkaStreamsTests.Records(keys: 10, perKey: 1).Select(r => r.Item1).Append("last").Order(), seenByNewOwner.Keys.Order());
    }

    private static Topology Topology(Func<string, Task> onRecord) =>
        new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, "in")
            .AddProcessor("count", () => new CallbackProcessor(onRecord), "source")
            .AddStateStore(Stores.PersistentKeyValueStore("counts"), "count")
            .AddSink("sink", "out", Confluent.Kafka.Serializers.Utf8, Confluent.Kafka.Serializers.Utf8, "count")
            .Build();

    private sealed class CallbackProcessor(Func<string, Task> onRecord) : Processor<string, string, string, string>
    {
        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            _ = context.GetStateStore<IKeyValueStore>("counts");
        }

        public override async ValueTask ProcessAsync(Record<string, string> record)
        {
            await onRecord(record.Key);
            await Context.ForwardAsync(record);
        }
    }
}
