using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Wal.Streams.State;

namespace Wal.Streams.TestHost;

/// <summary>
/// Counts records per key, skipping any whose sequence number (the value) is not above the last one counted, and forwards
/// (key, sequence). The count and the last sequence are one store value, so they reach the changelog together:
/// redelivery after a crash leaves the count exact, as an idempotent sink would.
/// </summary>
public sealed class SequenceCountingProcessor : Processor<string, string, string, string>
{
    public const string StoreName = "counts";

    private IKeyValueStore _store = null!;

    public override void Init(IProcessorContext<string, string> context)
    {
        base.Init(context);
        _store = context.GetStateStore<IKeyValueStore>(StoreName);
    }

    public override ValueTask ProcessAsync(Record<string, string> record)
    {
        var key = Encoding.UTF8.GetBytes(record.Key);
        var sequence = long.Parse(record.Value, CultureInfo.InvariantCulture);
        var (count, last) = Decode(_store.Get(key));
        if (sequence > last)
        {
            _store.Put(key, Encode(count + 1, sequence));
        }

        return Context.ForwardAsync(record);
    }

    /// <summary>A store value: (count, last sequence); (0, -1) when absent.</summary>
    public static (long Count, long LastSequence) Decode(byte[]? value) =>
        value is null ? (0, -1) : (BinaryPrimitives.ReadInt64BigEndian(value), BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(8)));

    public static byte[] Encode(long count, long sequence)
    {
        var value = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(value, count);
        BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(8), sequence);
        return value;
    }

    public static Topology Topology(string input, string output, IStoreBuilder? store = null) =>
        new TopologyBuilder()
            .AddSource("source", Deserializers.Utf8, Deserializers.Utf8, input)
            .AddProcessor("count", () => new SequenceCountingProcessor(), "source")
            .AddStateStore(store ?? Stores.InMemoryKeyValueStore(StoreName), "count")
            .AddSink("sink", output, Serializers.Utf8, Serializers.Utf8, "count")
            .Build();
}
