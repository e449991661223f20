using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Kafka.Embedded;
using Wal.Schemas.V1;
using Wal.Streams;

namespace Wal.Topology.Tests;

/// <summary>
/// A test of the real runtime that stops and starts instances on one state: its own one-broker mock cluster and state
/// directory, and the log entries it writes around the ingress.
/// </summary>
public abstract class RestartableTopologyTest : IAsyncLifetime
{
    protected string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), $"wal-topology-restart-{Guid.NewGuid():N}");

    protected EmbeddedKafkaCluster Kafka { get; private set; } = null!;

    public virtual Task InitializeAsync()
    {
        Kafka = EmbeddedKafkaCluster.Start(1);
        return Task.CompletedTask;
    }

    public virtual Task DisposeAsync()
    {
        Kafka.Dispose();
        if (Directory.Exists(StateDirectory))
        {
            Directory.Delete(StateDirectory, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>The streams settings of an instance on this test's state, under <paramref name="applicationId"/>.</summary>
    protected StreamsConfig Streams(string applicationId) => new()
    {
        ApplicationId = applicationId,
        BootstrapServers = Kafka.BootstrapServers,
        StateDirectory = StateDirectory,
        CommitInterval = TimeSpan.FromMilliseconds(200),
        // The mock cluster completes a rebalance within about a session timeout (45 s by default), and an instance that
        // stopped without leaving the group is replaced once its session has expired.
        SessionTimeout = TimeSpan.FromSeconds(6),
        HeartbeatInterval = TimeSpan.FromSeconds(1),
    };

    protected IProducer<byte[], byte[]> Producer(int lingerMs = 0) =>
        new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = Kafka.BootstrapServers, LingerMs = lingerMs }).Build();

    /// <summary>A consumer of <paramref name="ns"/>'s dead letters from their start.</summary>
    protected IConsumer<string, byte[]> DeadLetterReader(NamespaceConfig ns)
    {
        var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Kafka.BootstrapServers,
            GroupId = $"dlq-reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(ns.DeadLetterTopic);
        return consumer;
    }

    protected static MutationChunk Chunk(NamespaceConfig ns, string requestId, uint sequence) => new()
    {
        Namespace = ns.Name,
        RequestId = requestId,
        Sequence = sequence,
        Table = "table-0",
        Put = new Put { Key = ByteString.CopyFromUtf8($"{requestId}-{sequence}"), Value = ByteString.CopyFromUtf8("v") },
        Version = 1000 + sequence,
    };

    /// <summary>
    /// Writes <paramref name="entry"/> keyed as the ingress keys it (a mutation's pieces by request id, others by id), at
    /// <paramref name="timestampMs"/> if given; returns the record's timestamp.
    /// </summary>
    protected static async Task<long> ProduceAsync(IProducer<byte[], byte[]> producer, NamespaceConfig ns, LogEntry entry, long? timestampMs = null)
    {
        entry.Namespace = ns.Name;
        // Accepted now, whatever the record's timestamp says: an entry accepted in the future would wait to be due.
        entry.AcceptedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var key = entry.BodyCase switch
        {
            LogEntry.BodyOneofCase.Chunk => entry.Chunk.RequestId,
            LogEntry.BodyOneofCase.Completion => entry.Completion.RequestId,
            _ => entry.Id,
        };
        var message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = entry.ToByteArray() };
        if (timestampMs is { } ms)
        {
            message.Timestamp = new Timestamp(ms, TimestampType.CreateTime);
        }

        var result = await producer.ProduceAsync(ns.Topic, message);
        return result.Message.Timestamp.UnixTimestampMs;
    }
}
