using System.Buffers.Binary;
using System.Text;
using Wal.Kafka.Embedded;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// An instance whose punctuator was stuck past max.poll.interval has left the group, and another instance owns its task;
/// the stuck one learns it only at its next poll, and commits once before that.
/// </summary>
public sealed class StuckPunctuatorCheckpointTests
{
    private const string StoreName = "counts";

    [Fact]
    public async Task PunctuatorStuckPastMaxPollInterval_ItsCommitWithoutOffsets_DoesNotCheckpointPastTheNewOwnersWrites()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 1);
        cluster.CreateTopic("out", 1);
        cluster.CreateTopic($"stuck-app-{StoreName}-changelog", 1);
        var config = KafkaTestKit.Config(cluster, "stuck-app") with { SessionTimeout = TimeSpan.FromSeconds(6), MaxPollInterval = TimeSpan.FromSeconds(6) };
        var stuck = new StuckOnce();

        // 1. The first instance counts a1, commits, then its punctuator gets stuck with nothing left to commit.
        await using var first = new KafkaStreams(Topology(stuck), config);
        await first.StartAsync();
        await KafkaTestKit.ProduceAsync(cluster, "in", [("a1", "x")]);
        await ReadCountsAsync(cluster, count: 1);
        await KafkaTestKit.WaitForAsync(() => KafkaTestKit.CommittedOffsetSum(cluster, "stuck-app", "in", 1) == 1, "a1's offset to be committed");
        stuck.Arm();
        await KafkaTestKit.WaitForAsync(() => stuck.Entered, "the punctuator to get stuck");

        // 2. A second instance joins; the stuck one falls out of the group (max.poll.interval) and the second counts b1.
        await using var second = new KafkaStreams(Topology(new StuckOnce()), config with { StateDirectory = config.StateDirectory + "-2" });
        await second.StartAsync();
        await KafkaTestKit.ProduceAsync(cluster, "in", [("b1", "x")]);
        await ReadCountsAsync(cluster, count: 2);
        await KafkaTestKit.ReadUntilAsync(
            cluster, $"stuck-app-{StoreName}-changelog", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.ByteArray,
            read => read.Any(r => r.Message.Key == "b1"));

        // 3. The stuck punctuator goes on: it writes after b1's changelog record, and its thread commits before it polls.
        stuck.Release();
        await KafkaTestKit.WaitForAsync(() => stuck.Wrote, "the stuck punctuator's write");
        await second.CloseAsync();

        // 4. The first instance owns the task again, its store restored from its own checkpoint: b1 counts on from 1.
        await KafkaTestKit.ProduceAsync(cluster, "in", [("b1", "x")]);
        var counts = await ReadCountsAsync(cluster, count: 3);
        await first.CloseAsync();

        Assert.Equal([("a1", 1L), ("b1", 1L), ("b1", 2L)], counts);
    }

    private static async Task<List<(string Key, long Count)>> ReadCountsAsync(EmbeddedKafkaCluster cluster, int count)
    {
        var read = await KafkaTestKit.ReadUntilAsync(
            cluster, "out", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Int64, r => r.Count >= count, TimeSpan.FromSeconds(60));
        Assert.True(read.Count >= count, $"{count} counts expected, {read.Count} read");
        return read.Select(r => (r.Message.Key, r.Message.Value)).ToList();
    }

    // A persistent store whose flush is done when it returns, so the stuck thread's checkpoint is written in that one commit:
    // a RocksDB store's waits for its background flush, and whether that ends before the thread's next poll is a race.
    private static Topology Topology(StuckOnce stuck) =>
        new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, "in")
            .AddProcessor("count", () => new CountingWithPunctuator(stuck), "source")
            .AddStateStore(FileBackedKeyValueStore.Builder(StoreName), "count")
            .AddSink("sink", "out", Confluent.Kafka.Serializers.Utf8, Confluent.Kafka.Serializers.Int64, "count")
            .Build();

    /// <summary>A punctuation that, once armed, waits for the test and then writes a key of its own.</summary>
    private sealed class StuckOnce
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _armed;
        private volatile bool _entered;
        private volatile bool _wrote;

        public bool Entered => _entered;

        public bool Wrote => _wrote;

        public void Arm() => _armed = true;

        public void Release() => _release.SetResult();

        public async ValueTask PunctuateAsync(IKeyValueStore store)
        {
            if (!_armed || _entered)
            {
                return;
            }

            _entered = true;
            await _release.Task;
            store.Put(Encoding.UTF8.GetBytes("stuck"), new byte[8]);
            _wrote = true;
        }
    }

    private sealed class CountingWithPunctuator(StuckOnce stuck) : Processor<string, string, string, long>
    {
        private IKeyValueStore _store = null!;

        public override void Init(IProcessorContext<string, long> context)
        {
            base.Init(context);
            _store = context.GetStateStore<IKeyValueStore>(StoreName);
            context.Schedule(TimeSpan.FromMilliseconds(50), PunctuationType.WallClockTime, _ => stuck.PunctuateAsync(_store));
        }

        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            var key = Encoding.UTF8.GetBytes(record.Key);
            var count = CountingProcessor.Read(_store.Get(key)) + 1;
            var value = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(value, count);
            _store.Put(key, value);
            return Context.ForwardAsync(record.WithValue(count));
        }
    }
}
