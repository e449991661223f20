using System.Collections.Concurrent;
using Confluent.Kafka;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Wal.Topology.Mutations;

namespace Wal.Topology.Tests;

/// <summary>
/// Forgetting a finished mutation deletes its finished record (in the chunk store) and its progress (in the mutation
/// store). The two changelogs are separate partitions, and an instance that dies keeps what reached each of them:
/// when the progress delete reached Kafka and the finished record's delete did not, an instance restoring from the
/// changelogs found a finished record with no progress, and nothing ever deleted it.
/// </summary>
public sealed class ForgetAfterCrashTests(Xunit.Abstractions.ITestOutputHelper output) : RestartableTopologyTest
{
    private const string ApplicationId = "forget-crash";
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task ChunkStoreDeletesFailWhileForgetting_AnInstanceRestoringFromTheChangelogsStillForgetsTheMutation()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "kv",
            Partitions = 1,
            Personas = { Persona.MultiTableMutation },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
            // An applied mutation is kept (without chunks) for one expiry, then forgotten.
            MutationExpiry = Duration.FromTimeSpan(TimeSpan.FromSeconds(4)),
        }]);
        var ns = registry.All.Single();
        var chunkChangelog = $"{ApplicationId}-{WalTopology.ChunkStoreName(ns.Name)}-changelog";
        var mutationChangelog = $"{ApplicationId}-{WalTopology.MutationStoreName(ns.Name)}-changelog";
        using var producer = Producer();
        await using (var first = Host(registry, StateDirectory))
        {
            await first.StartAsync();
            await ProduceAsync(producer, ns, new LogEntry { Id = "m/0", Chunk = Chunk(ns, "m", 0) });
            await ProduceAsync(producer, ns, new LogEntry { Id = "m/complete", Completion = new MutationCompletion { Namespace = ns.Name, RequestId = "m", ChunkCount = 1 } });
            // Applied, and the apply's chunk-store writes (the finished record, the chunk's delete) are in Kafka.
            await Eventually.WaitUntilAsync(
                () => Task.FromResult(_sink.Delivered.ContainsKey("m/0") && Live(chunkChangelog).SetEquals([Hex(ChunkKey.Finished("m"))])),
                TimeSpan.FromSeconds(40),
                () => $"the mutation to be applied and its finished record written ({first.Streams.State})",
                TimeSpan.FromMilliseconds(200));

            // The chunk store's changelog partition has no leader when the mutation is forgotten: its writes time out, and
            // the instance stops. The mutation store's changelog takes writes.
            Kafka.SetPartitionLeader(chunkChangelog, 0, -1);
            await Eventually.WaitUntilAsync(() => first.Streams.State == KafkaStreamsState.Error, TimeSpan.FromSeconds(40), "the refused delete to stop the stream thread");
        }

        Kafka.SetPartitionLeader(chunkChangelog, 0, 1);
        // Another machine: its stores come from the changelogs alone.
        await using var second = Host(registry, StateDirectory + "-elsewhere");
        await second.StartAsync();
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(Live(chunkChangelog).Count == 0 && Live(mutationChangelog).Count == 0),
            TimeSpan.FromSeconds(45),
            () => $"the restored instance to forget the mutation ({second.Streams.State}; left in the chunk store: [{string.Join(", ", Live(chunkChangelog))}], "
                + $"in the mutation store: [{string.Join(", ", Live(mutationChangelog))}])",
            TimeSpan.FromMilliseconds(500));
    }

    public override Task DisposeAsync()
    {
        if (Directory.Exists(StateDirectory + "-elsewhere"))
        {
            Directory.Delete(StateDirectory + "-elsewhere", recursive: true);
        }

        return base.DisposeAsync();
    }

    private WalTopologyHost Host(INamespaceRegistry registry, string stateDirectory) => new(
        registry,
        _sink,
        new WalTopologyOptions { PersistentStores = true },
        Streams(ApplicationId) with
        {
            StateDirectory = stateDirectory,
            // librdkafka retries a write to a partition without a leader until its message timeout (300 s by default).
            AdditionalProducerConfig = new Dictionary<string, string> { ["message.timeout.ms"] = "3000" },
        },
        Kafka,
        new Wal.Streams.Tests.TestOutputLoggerFactory(output));

    /// <summary>The keys <paramref name="topic"/> holds a value for, as a restore would find them: the last write per key.</summary>
    private HashSet<string> Live(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]?>(new ConsumerConfig { BootstrapServers = Kafka.BootstrapServers, GroupId = $"replica-{Guid.NewGuid():N}" }).Build();
        var partition = new TopicPartition(topic, 0);
        var end = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
        var live = new HashSet<string>(StringComparer.Ordinal);
        consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        for (long read = 0; read < end && DateTime.UtcNow < deadline;)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { } record)
            {
                continue;
            }

            read = record.Offset.Value + 1;
            var key = Hex(record.Message.Key);
            if (record.Message.Value is null)
            {
                live.Remove(key);
            }
            else
            {
                live.Add(key);
            }
        }

        return live;
    }

    private static string Hex(byte[] key) => Convert.ToHexString(key);

    private sealed class RecordingSink : ISink
    {
        public ConcurrentDictionary<string, bool> Delivered { get; } = new();

        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Delivered[delivery.Id] = true;
            return ValueTask.FromResult(DeliveryResult.Delivered);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
