using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>Two replicators sharing one group (two topology instances of a region) while partitions move between them.</summary>
public sealed class RebalanceReplicationTests : IDisposable
{
    private const string Topic = "wal.moving";
    private const int Partitions = 2;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly EmbeddedKafkaCluster _a = EmbeddedKafkaCluster.Start(1);
    private readonly EmbeddedKafkaCluster _b = EmbeddedKafkaCluster.Start(1);

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task Rebalance_WhileRemoteAway_OnlyTheNewOwnersCopiesArrive_EachRecordOnceInOrder()
    {
        // The revoked owner kept the records its producer held and delivered them once b returned, beside the new
        // owner's copies of the same records: b held every record twice, an older record after a newer one.
        const int Records = 40;
        _a.CreateTopic(Topic, Partitions);
        _b.CreateTopic(Topic, Partitions);
        _b.SetBrokerDown(1);
        await using var first = Replicator();
        await first.StartAsync();
        await WriteAsync(Records);
        await Eventually.WaitUntilAsync(() => first.Sent == Records, Patience, "the first replicator to hand every record to its producer");

        await using var second = Replicator();
        await second.StartAsync();
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(first.Sent + second.Sent >= 2 * Records), Patience, () => $"the partitions' owners after the rebalance to send them again (sent {first.Sent} + {second.Sent})");
        _b.SetBrokerUp(1);

        await Eventually.WaitUntilAsync(
            () => Task.FromResult(TopicContents.CommittedTotal(_a.BootstrapServers, first.Options.GroupId, Topic, Partitions) == Records),
            Patience, $"the group to commit all {Records} records");
        var inA = TopicContents.ReadAll(_a.BootstrapServers, Topic, Partitions);
        var inB = TopicContents.ReadAll(_b.BootstrapServers, Topic, Partitions);
        for (var partition = 0; partition < Partitions; partition++)
        {
            Assert.Equal(
                inA.Where(r => r.Partition == partition).Select(r => r.Value.Id),
                inB.Where(r => r.Partition == partition).Select(r => r.Value.Id));
        }
    }

    private async Task WriteAsync(int records)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _a.BootstrapServers, Acks = Acks.All, EnableIdempotence = true }).Build();
        for (var i = 0; i < records; i++)
        {
            var entry = new LogEntry { Id = $"e{i}", Namespace = "moving", Payload = ByteString.CopyFromUtf8($"v{i}"), OriginRegion = "a", AcceptedAtMs = 1 };
            var result = await producer.ProduceAsync(
                new TopicPartition(Topic, i % Partitions), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray() });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
        }
    }

    private RegionReplicator Replicator() => new(
        new RegionReplicatorOptions
        {
            Namespace = "moving",
            Topic = Topic,
            LocalRegion = "a",
            LocalBootstrapServers = _a.BootstrapServers,
            RemoteRegion = "b",
            RemoteBootstrapServers = _b.BootstrapServers,
            CommitInterval = TimeSpan.FromMilliseconds(200),
            // The mock coordinator seems to give a member about its session timeout to rejoin, where a broker gives it
            // max.poll.interval.ms: at 6 s, a first member still waiting out its revocation under load was removed, the
            // second took every partition, and b came back while the old producer still held its copies.
            SessionTimeout = TimeSpan.FromSeconds(15),
        },
        NullLogger.Instance);
}
