using Confluent.Kafka;
using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Operations;

/// <summary>A replay stopped by Kafka rather than by Ctrl-C, on a cluster of its own (the fault must reach the replay's producer only).</summary>
public sealed class LogReplayerFailureTests
{
    [Fact]
    public async Task Replay_ProduceRefusedMidway_SaysWhereToGoOnFrom()
    {
        // A replay keeps no position, and only an interruption said where it stopped: a produce that failed ended it
        // with "Kafka: ..., check --bootstrap-servers", and run again as it was, it re-applied the whole range, a mutation
        // cut by the failure under a new suffix (its first half then expiring into the dead-letter topic).
        using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        cluster.CreateTopic("wal.f");
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All }).Build())
        {
            foreach (var id in new[] { "f-0", "f-1", "f-2" })
            {
                var entry = new LogEntry { Id = id, Namespace = "f", AcceptedAtMs = 1_700_000_000_000, Payload = ByteString.CopyFromUtf8(id) };
                await producer.ProduceAsync("wal.f", new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(id), Value = entry.ToByteArray() });
            }
        }

        var ns = new NamespaceConfig { Name = "f", Topic = "wal.f", DeadLetterTopic = "wal.f.dlq" };
        var refused = false;
        var stopped = await Assert.ThrowsAsync<CliException>(() => new LogReplayer(cluster.BootstrapServers).ReplayAsync(
            ns, Wal.Cli.Operations.LogPosition.Parse("0", out _)!, null, new HashSet<string>(), null, dryRun: false, null, CancellationToken.None,
            _ =>
            {
                if (!refused)
                {
                    refused = true;
                    cluster.PushRequestErrors(KafkaApi.Produce, 29); // TOPIC_AUTHORIZATION_FAILED: not retried
                }
            }));

        Assert.Equal(ExitCodes.Failed, stopped.ExitCode);
        Assert.Equal("stopped by Kafka (Broker: Topic authorization failed) after re-applying 1 of 2 entries read", stopped.Message);
        Assert.Contains("run it again with --from 0:1 --to 0:3", stopped.NextStep, StringComparison.Ordinal);
    }
}
