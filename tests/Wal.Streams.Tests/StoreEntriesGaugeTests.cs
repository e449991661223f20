using System.Diagnostics.Metrics;
using System.Text;
using Wal.Kafka.Embedded;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// <c>wal.streams.store.entries</c>: how many entries each store holds over the process's running tasks, so an operator
/// can see, say, how many delay-queue timers wait. The meter is one per process, so each test names its own store.
/// </summary>
public sealed class StoreEntriesGaugeTests
{
    [Fact]
    public async Task StoreEntries_FollowsPutsAndDeletesAcrossTasks_AndLeavesWithTheClose()
    {
        const string App = "entries-gauge-app";
        const string Store = "entries-gauge-keys";
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 2);
        cluster.CreateTopic($"{App}-{Store}-changelog", 2);
        using var gauge = new StoreEntriesReader(Store);
        var streams = new KafkaStreams(KeySetProcessor.Topology("in", Stores.InMemoryKeyValueStore(Store)), KafkaTestKit.Config(cluster, App));
        await using (streams)
        {
            // Six keys over both partitions, one of them twice: six entries.
            await KafkaTestKit.ProduceAsync(cluster, "in", [.. Enumerable.Range(0, 6).Select(i => ($"k{i}", "put")), ("k0", "put")]);
            await streams.StartAsync();
            await KafkaTestKit.WaitForAsync(() => gauge.Read() == 6, $"the gauge to say 6 entries (last read: {gauge.Read()})");

            await KafkaTestKit.ProduceAsync(cluster, "in", [("k1", "delete"), ("k4", "delete")]);
            await KafkaTestKit.WaitForAsync(() => gauge.Read() == 4, $"the gauge to say 4 entries after two deletes (last read: {gauge.Read()})");

            await streams.CloseAsync();
        }

        Assert.Null(gauge.Read());
    }

    [Fact]
    public async Task StoreEntries_PersistentStore_CountsItsKeys()
    {
        const string App = "entries-gauge-rocksdb-app";
        const string Store = "entries-gauge-rocksdb";
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("in", 1);
        cluster.CreateTopic($"{App}-{Store}-changelog", 1);
        using var gauge = new StoreEntriesReader(Store);
        await using var streams = new KafkaStreams(KeySetProcessor.Topology("in", Stores.PersistentKeyValueStore(Store)), KafkaTestKit.Config(cluster, App));

        await KafkaTestKit.ProduceAsync(cluster, "in", Enumerable.Range(0, 25).Select(i => ($"k{i}", "put")));
        await streams.StartAsync();

        await KafkaTestKit.WaitForAsync(() => gauge.Read() == 25, $"the gauge to say 25 entries (last read: {gauge.Read()})");
    }

    /// <summary>Puts each record's key, or deletes it when the value says so; forwards nothing.</summary>
    private sealed class KeySetProcessor(string storeName) : Processor<string, string, string, string>
    {
        private IKeyValueStore _store = null!;

        public override void Init(IProcessorContext<string, string> context)
        {
            base.Init(context);
            _store = context.GetStateStore<IKeyValueStore>(storeName);
        }

        public override ValueTask ProcessAsync(Record<string, string> record)
        {
            var key = Encoding.UTF8.GetBytes(record.Key);
            if (record.Value == "delete")
            {
                _store.Delete(key);
            }
            else
            {
                _store.Put(key, "x"u8);
            }

            return ValueTask.CompletedTask;
        }

        public static Topology Topology(string input, IStoreBuilder store) =>
            new TopologyBuilder()
                .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, input)
                .AddProcessor("keys", () => new KeySetProcessor(store.Name), "source")
                .AddStateStore(store, "keys")
                .Build();
    }

    /// <summary>Reads the gauge's measurement for one store, or null when the process reports none for it.</summary>
    private sealed class StoreEntriesReader : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _store;
        private long? _last;

        public StoreEntriesReader(string store)
        {
            _store = store;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Wal.Streams" && instrument.Name == "wal.streams.store.entries")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "store" && (string?)tag.Value == _store)
                    {
                        _last = value;
                    }
                }
            });
            _listener.Start();
        }

        public long? Read()
        {
            lock (_listener)
            {
                _last = null;
                _listener.RecordObservableInstruments();
                return _last;
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
