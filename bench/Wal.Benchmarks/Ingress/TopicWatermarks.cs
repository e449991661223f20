using Confluent.Kafka;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// Records in a topic, as the sum of its partitions' high watermarks. The mock cluster drops the
/// head of a long partition, but its high watermark keeps counting, so deltas stay exact.
/// </summary>
internal sealed class TopicWatermarks(string bootstrapServers, string topic, int partitions) : IDisposable
{
    private readonly IConsumer<Ignore, Ignore> _consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
    {
        BootstrapServers = bootstrapServers,
        GroupId = "ingress-bench-watcher",
    }).Build();

    public long Total() => Enumerable.Range(0, partitions)
        .Sum(p => _consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);

    public void Dispose() => _consumer.Dispose();
}
