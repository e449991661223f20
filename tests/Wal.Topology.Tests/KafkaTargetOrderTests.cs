using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks.Kafka;
using Wal.Streams;

namespace Wal.Topology.Tests;

/// <summary>
/// The running topology and the real Kafka sink, each on its own mock cluster: the target cluster refuses one produce
/// with CORRUPT_MESSAGE (retriable), and the key's records must still land in the order they were written.
/// </summary>
public sealed class KafkaTargetOrderTests : IAsyncLifetime
{
    private const int CorruptMessage = 2;
    private readonly EmbeddedKafkaCluster _target = EmbeddedKafkaCluster.Start(1);
    private KafkaSink _sink = null!;
    private MockClusterTopology _topology = null!;

    public async Task InitializeAsync()
    {
        _target.CreateTopic("out");
        _sink = new KafkaSink(new KafkaSinkOptions { Clusters = new Dictionary<string, string> { ["remote"] = _target.BootstrapServers } });
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "orders", Partitions = 1 }]);
        _topology = new MockClusterTopology("kafka-order", registry, _sink, new WalTopologyOptions { PersistentStores = true });
        await _topology.Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _topology.DisposeAsync();
        await _sink.DisposeAsync();
        _target.Dispose();
    }

    [Fact]
    public async Task OneProduceRefused_TheKeysRecordsStillLandInWriteOrder()
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _topology.Kafka.BootstrapServers }).Build();
        await Eventually.WaitUntilAsync(() => _topology.Host.Streams.State == KafkaStreamsState.Running, TimeSpan.FromSeconds(40), "the topology to run");
        await ProduceAsync(producer, "warm-up", "w");
        Assert.Equal(["warm-up"], ReadTarget(1));

        _target.PushRequestErrors(KafkaApi.Produce, CorruptMessage);
        foreach (var id in new[] { "a1", "a2", "a3" })
        {
            await ProduceAsync(producer, id, "a");
        }

        // Before, a1 went to its retry and a2 and a3 landed first: warm-up, a2, a3, a1.
        Assert.Equal(["warm-up", "a1", "a2", "a3"], ReadTarget(4));
    }

    private static async Task ProduceAsync(IProducer<byte[], byte[]> producer, string id, string key)
    {
        var entry = new LogEntry
        {
            Id = id,
            Namespace = "orders",
            Payload = ByteString.CopyFromUtf8(id),
            Target = new Target { Kafka = new KafkaTarget { Cluster = "remote", Topic = "out", Key = ByteString.CopyFromUtf8(key) } },
            AcceptedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        await producer.ProduceAsync("wal.orders", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = entry.ToByteArray() });
    }

    /// <summary>The payloads of the target topic's first <paramref name="count"/> records, or a failure at the deadline.</summary>
    private List<string> ReadTarget(int count)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = _target.BootstrapServers,
            GroupId = $"target-reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe("out");
        var read = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (read.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } result)
            {
                read.Add(Encoding.UTF8.GetString(result.Message.Value));
            }
        }

        Assert.True(read.Count == count, $"{read.Count} of {count} records in the target within 40 s: {string.Join(",", read)}; {_topology.StreamsState}");
        return read;
    }
}
