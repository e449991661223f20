using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Streams;
using DeadLetterHeaders = Wal.Topology.Dispatch.DeadLetterHeaders;

namespace Wal.Topology.Tests;

/// <summary>
/// Mutation pieces whose request id is far longer than the ingress takes (256 characters), written around it, through the
/// real runtime on the mock cluster. The id is in every store key and value of the mutation and three more times in its
/// dead letter; stored, a chunk or progress record past the producer's limit failed the stream thread on every restart.
/// </summary>
public sealed class LongRequestIdMutationTests : IAsyncLifetime
{
    private const string Ns = "kv";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    private readonly ScriptedSink _sink = new();
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
        _topology = new MockClusterTopology("long-request-id", registry, _sink, new WalTopologyOptions { PersistentStores = false });
        await _topology.Host.StartAsync();
    }

    public async Task DisposeAsync() => await _topology.DisposeAsync();

    [Fact]
    public async Task ChunkAndMarkerWithARequestIdTooLongToStore_AreDeadLetteredAsPermanent_AndTheNextMutationApplies()
    {
        var longId = new string('r', 600_000);
        var longChunk = Piece(longId, chunk: true);
        var longMarker = Piece(longId, chunk: false);
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _topology.Kafka.BootstrapServers, Acks = Acks.All, EnableIdempotence = true }).Build())
        {
            foreach (var entry in new[] { longChunk, longMarker, Piece("next", chunk: true), Piece("next", chunk: false) })
            {
                var written = await producer.ProduceAsync($"wal.{Ns}", new Message<byte[], byte[]> { Key = "short-key"u8.ToArray(), Value = entry.ToByteArray() });
                Assert.Equal(PersistenceStatus.Persisted, written.Status);
            }
        }

        await Eventually.WaitUntilAsync(() => _sink.Calls.Any(c => c.Id == "next/0"), Deadline, $"the next mutation to be applied; {_topology.StreamsState}");
        var dead = _topology.ReadDeadLetters($"wal.{Ns}.dlq", 2);
        Assert.Equal([longChunk.ToByteArray(), longMarker.ToByteArray()], dead.Select(d => d.Message.Value));
        Assert.All(dead, d => Assert.Equal("permanent", Encoding.UTF8.GetString(d.Message.Headers.GetLastBytes(DeadLetterHeaders.Reason))));
        var error = Encoding.UTF8.GetString(dead[0].Message.Headers.GetLastBytes(DeadLetterHeaders.Error));
        Assert.Contains("600000", error, StringComparison.Ordinal);
        Assert.Equal("next/0", Assert.Single(_sink.Calls).Id);
        Assert.Equal(KafkaStreamsState.Running, _topology.Host.Streams.State);
    }

    private static LogEntry Piece(string requestId, bool chunk)
    {
        var entry = new LogEntry { Id = chunk ? "piece/0" : "piece/complete", Namespace = Ns, AcceptedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        if (chunk)
        {
            entry.Chunk = new MutationChunk
            {
                Namespace = Ns,
                RequestId = requestId,
                Sequence = 0,
                Table = "t",
                Version = 1,
                Put = new Put { Key = ByteString.CopyFromUtf8("k"), Value = ByteString.CopyFromUtf8("v") },
            };
        }
        else
        {
            entry.Completion = new MutationCompletion { Namespace = Ns, RequestId = requestId, ChunkCount = 1 };
        }

        return entry;
    }
}
