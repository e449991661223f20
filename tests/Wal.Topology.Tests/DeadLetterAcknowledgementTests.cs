using System.Collections.Concurrent;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;

namespace Wal.Topology.Tests;

/// <summary>
/// A dead letter is the only copy of what it gives up once the state that held it is deleted: the mutation's chunks, a
/// delayed entry's timer. The dead letter was sent without waiting for Kafka's answer, and the deletes went to the
/// stores' changelogs in the same step. When the dead letter then failed, the thread stopped, and the restarted
/// instance restored the deletes: an acknowledged write neither delivered nor in the dead-letter topic.
/// </summary>
public sealed class DeadLetterAcknowledgementTests : RestartableTopologyTest
{
    private const int TopicAuthorizationFailed = 29;
    private readonly RefusingSink _sink = new();

    [Fact]
    public async Task MutationDeadLetterFails_AfterARestartItIsDeadLetteredAgain()
    {
        await FailOnceThenRestartAsync(Namespace("kv", Persona.MultiTableMutation), async (producer, ns) =>
        {
            await ProduceAsync(producer, ns, new LogEntry { Id = "lost/0", Chunk = Chunk(ns, "lost", 0) });
            await ProduceAsync(producer, ns, new LogEntry { Id = "lost/complete", Completion = new MutationCompletion { Namespace = ns.Name, RequestId = "lost", ChunkCount = 1 } });
        });
    }

    [Fact]
    public async Task DelayedEntryDeadLetterFails_AfterARestartItIsDeadLetteredAgain()
    {
        await FailOnceThenRestartAsync(Namespace("later", Persona.DelayQueue), (producer, ns) => ProduceAsync(producer, ns, new LogEntry
        {
            Id = "lost",
            Payload = ByteString.CopyFromUtf8("v"),
            Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)) },
        }));
    }

    /// <summary>
    /// The target refuses "lost" for good while the dead-letter topic refuses writes (an ACL, say): the thread stops.
    /// With the topic writable again, a restarted instance on the same state must dead-letter "lost".
    /// </summary>
    private async Task FailOnceThenRestartAsync(NamespaceConfig definition, Func<IProducer<byte[], byte[]>, NamespaceConfig, Task> write)
    {
        var registry = new NamespaceRegistry([definition]);
        var ns = registry.All.Single();
        using var producer = Producer();
        await using (var first = Host(registry))
        {
            await first.StartAsync();
            await Eventually.WaitUntilAsync(() => first.Streams.State == KafkaStreamsState.Running, TimeSpan.FromSeconds(40), "the first instance to run");
            Kafka.SetTopicError(ns.DeadLetterTopic, TopicAuthorizationFailed);
            await write(producer, ns);
            await Eventually.WaitUntilAsync(() => first.Streams.State == KafkaStreamsState.Error, TimeSpan.FromSeconds(40), "the refused dead letter to stop the stream thread");
            Assert.NotEmpty(_sink.Attempted);
        }

        Kafka.SetTopicError(ns.DeadLetterTopic, 0);
        await using var second = Host(registry);
        await second.StartAsync();
        using var consumer = DeadLetterReader(ns);
        ConsumeResult<string, byte[]>? dead = null;
        await Eventually.WaitUntilAsync(
            () => Task.FromResult((dead = consumer.Consume(TimeSpan.FromMilliseconds(200))) is not null),
            TimeSpan.FromSeconds(45),
            () => $"a dead letter for the write given up before the crash ({second.Streams.State}; the first instance stopped after attempting [{string.Join(", ", _sink.Attempted.Keys)}])");
        Assert.Equal("lost", dead!.Message.Key);
    }

    private static NamespaceConfig Namespace(string name, Persona persona) => new()
    {
        Name = name,
        Partitions = 1,
        Personas = { persona },
        DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
    };

    private WalTopologyHost Host(INamespaceRegistry registry) => new(
        registry,
        _sink,
        new WalTopologyOptions { PersistentStores = true },
        Streams("dlq-ack") with
        {
            // librdkafka retries the refused record until its message timeout (300 s by default): the same failure, later.
            AdditionalProducerConfig = new Dictionary<string, string> { ["message.timeout.ms"] = "3000" },
        },
        Kafka);

    private sealed class RefusingSink : ISink
    {
        public ConcurrentDictionary<string, bool> Attempted { get; } = new();

        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Attempted[delivery.Id] = true;
            return ValueTask.FromResult(DeliveryResult.Permanent("no such cluster"));
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
