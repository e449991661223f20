using System.Text.Json.Nodes;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Cli.Tests.Operator;

/// <summary>
/// <c>wal status</c> on a replicating namespace: how far each region's replicator is behind, read from the offsets its
/// group committed, as it commits them (only once the region acknowledged every record below). A replicator stuck on a
/// region that answers nothing showed nowhere. On a cluster of its own, whose control plane holds the one namespace.
/// </summary>
public sealed class StatusReplicationTests : IDisposable
{
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(brokerCount: 1);

    public void Dispose() => _kafka.Dispose();

    [Fact]
    public async Task Status_ReplicatingNamespace_ShowsEachRegionsReplicatorLag()
    {
        var orders = new NamespaceConfig
        {
            Name = "orders",
            Partitions = 2,
            Personas = { Persona.CrossRegionReplication },
            Regions = { new Region { Name = "a", BootstrapServers = _kafka.BootstrapServers }, new Region { Name = "b", BootstrapServers = "b:9092" } },
        };
        await using (var controlPlane = new ControlPlane(new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }, new NamespaceRegistry()))
        {
            await controlPlane.StartAsync();
            await controlPlane.PutAsync(orders);
        }

        _kafka.CreateTopic("wal.orders", partitions: 2);
        _kafka.CreateTopic("wal.orders.dlq", partitions: 2);
        Produce(("wal.orders", 0, 5), ("wal.orders", 1, 3));
        // a's replicator to b has passed three records of partition 0 and none of partition 1: 2 + 3 behind.
        Commit(RegionReplicatorOptions.GroupIdOf("orders", "b"), ("wal.orders", 0, 3), ("wal.orders", 1, 0));

        var json = await OperatorStackFixture.RunAsync("status", "--bootstrap-servers", _kafka.BootstrapServers, "--no-timers", "-o", "json");
        var text = await OperatorStackFixture.RunAsync("status", "--bootstrap-servers", _kafka.BootstrapServers, "--no-timers");

        Assert.True(json.Exit == 0, json.ToString());
        var replication = JsonNode.Parse(json.Out)!["replication"]!.AsArray();
        Assert.Equal(
            ["orders a ", "orders b 5"],
            replication.Select(r => $"{r!["namespace"]} {r["region"]} {r["lag"]?.GetValue<long>().ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
        Assert.Matches(@"orders\s+b\s+5\n", text.Out);
        Assert.Matches(@"orders\s+a\s+-\n", text.Out);
    }

    private void Produce(params (string Topic, int Partition, int Count)[] records)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, Acks = Acks.All }).Build();
        foreach (var (topic, partition, count) in records)
        {
            for (var i = 0; i < count; i++)
            {
                var entry = new LogEntry { Id = $"{partition}-{i}", Namespace = "orders", OriginRegion = "a", AcceptedAtMs = 1 };
                producer.Produce(new TopicPartition(topic, partition), new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray() });
            }
        }

        producer.Flush(TimeSpan.FromSeconds(10));
    }

    private void Commit(string group, params (string Topic, int Partition, long Offset)[] offsets)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = group }).Build();
        consumer.Commit(offsets.Select(o => new TopicPartitionOffset(o.Topic, o.Partition, o.Offset)));
    }
}
