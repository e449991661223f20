using System.Buffers.Binary;
using System.Text;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// Counts records per key in store <see cref="StoreName"/> and forwards (key, new count); given an interval, also forwards
/// (<see cref="TotalKey"/>, the sum of every count) on that wall-clock punctuation, read by a scan of the whole store.
/// Another store name lets two of its sub-topologies share a topology.
/// </summary>
internal sealed class CountingProcessor(TimeSpan? totalEvery = null, string storeName = CountingProcessor.StoreName) : Processor<string, string, string, long>
{
    public const string StoreName = "counts";
    public const string TotalKey = "total";

    private IKeyValueStore _store = null!;

    public override void Init(IProcessorContext<string, long> context)
    {
        base.Init(context);
        _store = context.GetStateStore<IKeyValueStore>(storeName);
        if (totalEvery is { } interval)
        {
            context.Schedule(interval, PunctuationType.WallClockTime, ForwardTotalAsync);
        }
    }

    private ValueTask ForwardTotalAsync(DateTimeOffset now)
    {
        long total = 0;
        using (var scan = _store.Range(null, null))
        {
            while (scan.MoveNext())
            {
                total += Read(scan.Value.ToArray());
            }
        }

        return Context.ForwardAsync(new Record<string, long>(TotalKey, total, now.ToUnixTimeMilliseconds()));
    }

    public override ValueTask ProcessAsync(Record<string, string> record)
    {
        var key = Encoding.UTF8.GetBytes(record.Key);
        var count = Read(_store.Get(key)) + 1;
        var value = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(value, count);
        _store.Put(key, value);
        return Context.ForwardAsync(record.WithValue(count));
    }

    public static long Read(byte[]? value) => value is null ? 0 : BinaryPrimitives.ReadInt64BigEndian(value);

    public static Topology Topology(string input, string output, IStoreBuilder? store = null, TimeSpan? totalEvery = null) =>
        new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, input)
            .AddProcessor("count", () => new CountingProcessor(totalEvery), "source")
            .AddStateStore(store ?? Stores.InMemoryKeyValueStore(StoreName), "count")
            .AddSink("sink", output, Confluent.Kafka.Serializers.Utf8, Confluent.Kafka.Serializers.Int64, "count")
            .Build();
}
