using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Wal.Topology.Mutations;
using Wal.Topology.State;

namespace Wal.Topology.Tests;

/// <summary>
/// A mutation too large for one Kafka record, dead-lettered through the real runtime on the mock
/// cluster: librdkafka's message.max.bytes (1,000,000 by default) is what the parts stay under.
/// </summary>
public sealed class LargeMutationDeadLetterTests : IAsyncLifetime
{
    private const string Ns = "big";
    private MockClusterTopology _topology = null!;

    public async Task InitializeAsync()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = Ns,
            Partitions = 1,
            Personas = { Persona.MultiTableMutation },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
        }]);
        _topology = new MockClusterTopology("large-test", registry, new RefusingSink(), new WalTopologyOptions { PersistentStores = false });
        await _topology.Host.StartAsync();
    }

    public async Task DisposeAsync() => await _topology.DisposeAsync();

    [Fact]
    public async Task PermanentFailure_TwoChunksOf600KB_DeadLetteredInTwoPartsAndTheThreadLives()
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _topology.Kafka.BootstrapServers }).Build();
        foreach (var sequence in new uint[] { 0, 1 })
        {
            var chunk = new MutationChunk
            {
                Namespace = Ns,
                RequestId = "m",
                Sequence = sequence,
                Table = "t",
                Version = 1,
                Put = new Put { Key = ByteString.CopyFromUtf8($"k{sequence}"), Value = ByteString.CopyFrom(new byte[600_000]) },
            };
            await producer.ProduceAsync($"wal.{Ns}", new Message<string, byte[]> { Key = "m", Value = new LogEntry { Id = $"m/{sequence}", Namespace = Ns, Chunk = chunk }.ToByteArray() });
        }

        await producer.ProduceAsync($"wal.{Ns}", new Message<string, byte[]>
        {
            Key = "m",
            Value = new LogEntry { Id = "m/complete", Namespace = Ns, Completion = new MutationCompletion { Namespace = Ns, RequestId = "m", ChunkCount = 2 } }.ToByteArray(),
        });

        var parts = _topology.ReadDeadLetters($"wal.{Ns}.dlq", 2);

        Assert.Equal(["1/2", "2/2"], parts.Select(p => Encoding.UTF8.GetString(p.Message.Headers.GetLastBytes(MutationDeadLetterHeaders.Part))));
        Assert.Equal([0u, 1u], parts.SelectMany(p => DeadMutation.Parser.ParseFrom(p.Message.Value).Chunks).Select(c => c.Sequence));
        Assert.Equal(KafkaStreamsState.Running, _topology.Host.Streams.State);
    }

    private sealed class RefusingSink : ISink
    {
        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(DeliveryResult.Permanent("the test's target refuses everything"));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
