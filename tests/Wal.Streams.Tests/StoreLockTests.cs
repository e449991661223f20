using System.Buffers.Binary;
using System.Text;
using Wal.Kafka.Embedded;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>A task moved between two threads of one instance while the old thread still holds its RocksDB stores.</summary>
public sealed class StoreLockTests
{
    [Fact]
    public async Task OldOwnerStuckPastMaxPollInterval_NewOwnerWaitsForTheStores_InsteadOfDying()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 2);
        cluster.CreateTopic("out", 2);
        cluster.CreateTopic("lock-app-counts-changelog", 2);
        var config = KafkaTestKit.Config(cluster, "lock-app") with
        {
            NumStreamThreads = 2,
            SessionTimeout = TimeSpan.FromSeconds(6),
            MaxPollInterval = TimeSpan.FromSeconds(6),
        };
        var blocked = 0;
        var loggers = new RecordingLoggerFactory();
        // The slow call lasts until the other thread, given the task, is seen waiting for its stores.
        var otherThreadWaits = () => KafkaTestKit.WaitForAsync(
            () => loggers.Lines.Any(l => l.Message.Contains("are still held by another thread", StringComparison.Ordinal)),
            "the other thread to wait for the task's stores",
            TimeSpan.FromSeconds(60));
        var topology = new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, "in")
            .AddProcessor("count", () => new OnceSlowCountingProcessor(() => Interlocked.Exchange(ref blocked, 1) == 0, otherThreadWaits), "source")
            .AddStateStore(Stores.PersistentKeyValueStore("counts"), "count")
            .AddSink("sink", "out", Confluent.Kafka.Serializers.Utf8, Confluent.Kafka.Serializers.Int64, "count")
            .Build();
        await using var streams = new KafkaStreams(topology, config, loggers);
        await streams.StartAsync();
        await KafkaTestKit.WaitForAsync(() => streams.State == KafkaStreamsState.Running, "the instance to run");

        await KafkaTestKit.ProduceAsync(cluster, "in", KafkaStreamsTests.Records(keys: 10, perKey: 1));

        // The slow thread falls out of the group (max.poll.interval 6 s) and its task goes to the
        // other thread, which must wait for the stores until the slow one lets go, then count on.
        var counted = await KafkaTestKit.ReadUntilAsync(
            cluster, "out", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Int64,
            read => read.Select(r => r.Message.Key).Distinct().Count() == 10 || streams.FatalError is not null,
            TimeSpan.FromSeconds(60));
        Assert.Null(streams.FatalError);
        Assert.Equal(10, counted.Select(r => r.Message.Key).Distinct().Count());
        Assert.Equal(1, Volatile.Read(ref blocked));
    }

    private sealed class OnceSlowCountingProcessor(Func<bool> slowThisOnce, Func<Task> slowUntil) : Processor<string, string, string, long>
    {
        private IKeyValueStore _store = null!;

        public override void Init(IProcessorContext<string, long> context)
        {
            base.Init(context);
            _store = context.GetStateStore<IKeyValueStore>("counts");
        }

        public override async ValueTask ProcessAsync(Record<string, string> record)
        {
            if (slowThisOnce())
            {
                // A call slower than max.poll.interval (a thread-pool wait: the other thread runs on).
                await slowUntil();
            }

            var key = Encoding.UTF8.GetBytes(record.Key);
            var stored = _store.Get(key);
            var value = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(value, (stored is null ? 0 : BinaryPrimitives.ReadInt64BigEndian(stored)) + 1);
            _store.Put(key, value);
            await Context.ForwardAsync(record.WithValue(BinaryPrimitives.ReadInt64BigEndian(value)));
        }
    }
}
