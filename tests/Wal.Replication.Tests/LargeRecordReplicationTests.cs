using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;
using Wal.Topology.Replication;

namespace Wal.Replication.Tests;

/// <summary>
/// Large records through one replicator between two mock clusters. Its backlog was bounded by a count only, so large
/// records filled librdkafka's queue and the next produce threw; and a record the ingress could write, plus the origin
/// headers, was refused as too large. Either stopped the replicator for good.
/// </summary>
public sealed class LargeRecordReplicationTests : IDisposable
{
    private const string Topic = "wal.blobs";
    private const int PayloadBytes = 500_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);
    private readonly EmbeddedKafkaCluster _a = EmbeddedKafkaCluster.Start(1);
    private readonly EmbeddedKafkaCluster _b = EmbeddedKafkaCluster.Start(1);

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task RemoteDown_BacklogBoundedByBytes_AllDeliveredWhenItReturns()
    {
        const int records = 24;
        const long maxInFlightBytes = 1_048_576 * 3;
        _a.CreateTopic(Topic, 4);
        _b.CreateTopic(Topic, 4);
        _b.SetBrokerDown(1);
        var replicator = Replicator(maxInFlightBytes);
        await replicator.StartAsync();
        await ProduceAsync(Enumerable.Range(0, records).Select(i => Entry($"e{i}", PayloadBytes)));

        // While b is away, reading stops once 3 MiB are on their way: at most that, plus the record that crossed it.
        // The pause follows each send on the copying thread, and with b away nothing is acknowledged to lift it: what is
        // in flight when it shows is all there will be (a replicator without the bound never pauses, and sends all 24).
        var bound = maxInFlightBytes / PayloadBytes;
        await Eventually.WaitUntilAsync(() => replicator.IsPaused, Patience, "the replicator to pause at its byte bound");
        var mostInFlight = replicator.Sent - replicator.Replicated;

        _b.SetBrokerUp(1);
        await Eventually.WaitUntilAsync(() => replicator.Replicated >= records, Patience, "b to acknowledge every record");
        await replicator.DisposeAsync();

        Assert.InRange(mostInFlight, bound, bound + 1);
        Assert.Equal(records, replicator.Replicated);
    }

    [Fact]
    public async Task RecordAsLargeAsTheIngressWrites_IsReplicatedWithItsOriginHeaders_AndTheNextOneToo()
    {
        _a.CreateTopic(Topic, 1);
        _b.CreateTopic(Topic, 1);
        var replicator = Replicator(256L * 1024 * 1024);
        await replicator.StartAsync();

        await ProduceAsync([LargestEntry("big"), Entry("small", 10)]);

        await Eventually.WaitUntilAsync(() => replicator.Replicated >= 2, Patience, "b to acknowledge both records");
        await replicator.DisposeAsync();
        Assert.Equal(2, replicator.Replicated);
    }

    private RegionReplicator Replicator(long maxInFlightBytes) => new(
        new RegionReplicatorOptions
        {
            Namespace = "blobs",
            Topic = Topic,
            LocalRegion = "a",
            LocalBootstrapServers = _a.BootstrapServers,
            RemoteRegion = "b",
            RemoteBootstrapServers = _b.BootstrapServers,
            CommitInterval = TimeSpan.FromMilliseconds(200),
            MaxInFlightBytes = maxInFlightBytes,
        },
        NullLogger.Instance);

    private async Task ProduceAsync(IEnumerable<LogEntry> entries)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _a.BootstrapServers, Acks = Acks.All, EnableIdempotence = true }).Build();
        foreach (var entry in entries)
        {
            var written = await producer.ProduceAsync(Topic, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray() });
            Assert.Equal(PersistenceStatus.Persisted, written.Status);
        }
    }

    private static LogEntry Entry(string id, int payloadBytes) =>
        new() { Id = id, Namespace = "blobs", Payload = ByteString.CopyFrom(new byte[payloadBytes]), OriginRegion = "a", AcceptedAtMs = 1 };

    /// <summary>The largest entry a producer with the ingress's (default) settings still takes.</summary>
    private static LogEntry LargestEntry(string id)
    {
        using var probe = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = "127.0.0.1:1" }).Build();
        int low = 990_000, high = 1_000_000;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            try
            {
                probe.Produce("probe", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(id), Value = Entry(id, middle).ToByteArray() });
                low = middle;
            }
            catch (ProduceException<byte[], byte[]> refused) when (refused.Error.Code == ErrorCode.MsgSizeTooLarge)
            {
                high = middle - 1;
            }
        }

        return Entry(id, low);
    }
}
