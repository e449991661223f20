using System.Runtime.CompilerServices;

namespace Wal.Streams.Tests;

/// <summary>
/// Counts as <see cref="CountingProcessor"/> does, but the first record keyed <see cref="Trigger"/> fails the way a read of
/// a corrupt RocksDB block fails (a <see cref="TaskCorruptedException"/> naming the store), without damaging any file.
/// </summary>
/// <param name="fired">Shared by every instance of the topology: the task's revival builds new processors.</param>
internal sealed class CorruptOnceProcessor(StrongBox<bool> fired) : Processor<string, string, string, long>
{
    public const string Trigger = "corrupt";

    private readonly CountingProcessor _counting = new();

    public override void Init(IProcessorContext<string, long> context)
    {
        base.Init(context);
        _counting.Init(context);
    }

    public override ValueTask ProcessAsync(Record<string, string> record)
    {
        if (record.Key == Trigger && !fired.Value)
        {
            fired.Value = true;
            throw new TaskCorruptedException($"store {CountingProcessor.StoreName} read a corrupt block") { StoreName = CountingProcessor.StoreName };
        }

        return _counting.ProcessAsync(record);
    }

    public static Topology Topology(string input, string output, StrongBox<bool> fired) =>
        new TopologyBuilder()
            .AddSource("source", Confluent.Kafka.Deserializers.Utf8, Confluent.Kafka.Deserializers.Utf8, input)
            .AddProcessor("count", () => new CorruptOnceProcessor(fired), "source")
            .AddStateStore(Stores.InMemoryKeyValueStore(CountingProcessor.StoreName), "count")
            .AddSink("sink", output, Confluent.Kafka.Serializers.Utf8, Confluent.Kafka.Serializers.Int64, "count")
            .Build();
}
