using Confluent.Kafka;
using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Operations;

/// <summary>
/// A replay from a time on a log whose timestamps do not grow with its offsets: a replicated record keeps its origin
/// region's time, so a region's log interleaves its own writes with older ones (by the replication lag, or by the whole
/// outage after the link between regions comes back). On its own cluster: the records carry chosen timestamps.
/// </summary>
public sealed class ReplayFromTimeTests
{
    [Fact]
    public async Task Replay_FromATime_TimestampsOutOfOrder_TakesEveryRecordAtOrAfterIt()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("wal.r");
        var from = DateTimeOffset.UtcNow.AddHours(-1);
        // Two local writes after --from, one replicated from a region that was cut off since before it, one more local.
        await ProduceAsync(cluster, ("local-1", from.AddSeconds(20)), ("local-2", from.AddSeconds(30)), ("replicated", from.AddMinutes(-30)), ("local-3", from.AddSeconds(40)));
        var ns = new NamespaceConfig { Name = "r", Topic = "wal.r", DeadLetterTopic = "wal.r.dlq" };
        var replayed = new List<string>();

        var result = await new LogReplayer(cluster.BootstrapServers).ReplayAsync(
            ns, Wal.Cli.Operations.LogPosition.Parse(from.ToString("O"), out _)!, null, new HashSet<string>(), null, dryRun: false, null, CancellationToken.None,
            e => replayed.Add(e.Id));

        // As Kafka answers a query by time: from the first offset whose timestamp is at or after it.
        Assert.Equal((0L, 4L), result.Ranges[0]);
        Assert.Equal(["local-1", "local-2", "replicated", "local-3"], replayed);
    }

    [Fact]
    public async Task Replay_FromATimeAfterEveryRecord_ReadsNothing()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("wal.r");
        var from = DateTimeOffset.UtcNow.AddHours(-1);
        await ProduceAsync(cluster, ("a", from.AddSeconds(-20)), ("b", from.AddSeconds(-10)));
        var ns = new NamespaceConfig { Name = "r", Topic = "wal.r", DeadLetterTopic = "wal.r.dlq" };

        var result = await new LogReplayer(cluster.BootstrapServers).ReplayAsync(
            ns, Wal.Cli.Operations.LogPosition.Parse(from.ToString("O"), out _)!, null, new HashSet<string>(), null, dryRun: true, null, CancellationToken.None);

        Assert.Equal((2L, 2L), result.Ranges[0]);
        Assert.Equal(0, result.Read);
    }

    private static async Task ProduceAsync(EmbeddedKafkaCluster cluster, params (string Id, DateTimeOffset At)[] records)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All }).Build();
        foreach (var (id, at) in records)
        {
            var entry = new LogEntry { Id = id, Namespace = "r", AcceptedAtMs = at.ToUnixTimeMilliseconds(), Payload = ByteString.CopyFromUtf8(id) };
            await producer.ProduceAsync("wal.r", new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(id), Value = entry.ToByteArray(), Timestamp = new Timestamp(at) });
        }
    }
}
