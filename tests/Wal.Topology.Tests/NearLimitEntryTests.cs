using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;

namespace Wal.Topology.Tests;

/// <summary>
/// The largest entry the ingress writes (its record just fits librdkafka's default message.max.bytes), through the real
/// runtime on the mock cluster. Its timer, retry and dead letter are bigger records than the entry; refused by the
/// producer, they failed the stream thread, and again after every restart, so every namespace on the instance stopped.
/// </summary>
public sealed class NearLimitEntryTests : IAsyncLifetime
{
    private const string Ns = "big";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    // Sinks quote what their target answered; this one answers at length.
    private static readonly string LongError = "upstream answered 413: " + new string('x', 50_000);
    private readonly ScriptedSink _sink = new();
    private MockClusterTopology _topology = null!;

    public async Task InitializeAsync()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = Ns,
            Partitions = 1,
            Personas = { Persona.DelayQueue },
            Retry = new RetryPolicy { MaxAttempts = 3, InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(50)) },
        }]);
        _topology = new MockClusterTopology("near-limit", registry, _sink, new WalTopologyOptions { PersistentStores = false });
        await _topology.Host.StartAsync();
    }

    public async Task DisposeAsync() => await _topology.DisposeAsync();

    [Fact]
    public async Task RefusedWithALongError_RetriedThenDeadLettered_AndThePartitionFlowsOn()
    {
        _sink.Retriable.Add("big-retried");
        _sink.Permanent.Add("big-refused");
        await ProduceAsIngressAsync(NearLimitEntry("big-retried", delay: null));
        await ProduceAsIngressAsync(NearLimitEntry("big-refused", delay: null));
        await ProduceAsIngressAsync(SmallEntry("next"));

        var deadLetters = _topology.ReadDeadLetters($"wal.{Ns}.dlq", 2);

        Assert.Equal(["big-retried", "big-refused"], deadLetters.Select(d => d.Message.Key).Order(StringComparer.Ordinal).Reverse());
        Assert.All(deadLetters, d => Assert.InRange(d.Message.Headers.GetLastBytes(Wal.Topology.Dispatch.DeadLetterHeaders.Error).Length, 4_000, 4_200));
        Assert.Equal(3, _sink.Calls.Count(c => c == "big-retried"));
        Assert.Contains("next", _sink.Calls);
        Assert.Equal(KafkaStreamsState.Running, _topology.Host.Streams.State);
    }

    [Fact]
    public async Task Delayed_WaitsInTheStore_AndThePartitionFlowsOn()
    {
        await ProduceAsIngressAsync(NearLimitEntry("big-delayed", delay: TimeSpan.FromHours(1)));
        await ProduceAsIngressAsync(SmallEntry("next"));

        await WaitAsync(() => _sink.Calls.Contains("next"), "the record after the delayed one to be delivered");
        Assert.Equal(KafkaStreamsState.Running, _topology.Host.Streams.State);
        Assert.DoesNotContain("big-delayed", _sink.Calls);
    }

    // Written around the ingress (which caps ids at 256 characters) under a short key: its timer held the id twice, in
    // the key and in the entry, a changelog record past the producer's limit that failed the stream thread on every restart.
    [Fact]
    public async Task EntryWithAnIdTooLongForItsTimer_IsDeadLetteredAsPermanent_AndThePartitionFlowsOn()
    {
        var longId = new string('i', 600_000);
        var entry = Entry(longId, 10, TimeSpan.FromHours(1));
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _topology.Kafka.BootstrapServers, Acks = Acks.All, EnableIdempotence = true }).Build())
        {
            var written = await producer.ProduceAsync($"wal.{Ns}", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("short-key"), Value = entry.ToByteArray() });
            Assert.Equal(PersistenceStatus.Persisted, written.Status);
        }

        await ProduceAsIngressAsync(SmallEntry("next"));

        await WaitAsync(() => _sink.Calls.Contains("next"), "the record after the long-id one to be delivered");
        var dead = Assert.Single(_topology.ReadDeadLetters($"wal.{Ns}.dlq", 1));
        Assert.Equal("short-key", dead.Message.Key);
        Assert.Equal(entry.ToByteArray(), dead.Message.Value);
        Assert.Equal("permanent", Encoding.UTF8.GetString(dead.Message.Headers.GetLastBytes(Wal.Topology.Dispatch.DeadLetterHeaders.Reason)));
        var error = Encoding.UTF8.GetString(dead.Message.Headers.GetLastBytes(Wal.Topology.Dispatch.DeadLetterHeaders.Error));
        Assert.Contains("600000", error, StringComparison.Ordinal);
        Assert.Contains("16384", error, StringComparison.Ordinal);
        Assert.DoesNotContain(longId, _sink.Calls);
        Assert.Equal(KafkaStreamsState.Running, _topology.Host.Streams.State);
    }

    private static LogEntry Entry(string id, int payloadBytes, TimeSpan? delay, DateTimeOffset? at = null)
    {
        var now = at ?? DateTimeOffset.UtcNow;
        var entry = new LogEntry
        {
            Id = id,
            Namespace = Ns,
            Payload = ByteString.CopyFrom(new byte[payloadBytes]),
            Target = new Target { Upstream = new UpstreamTarget { Url = "https://hooks.example.test/receive" } },
            AcceptedAtMs = now.ToUnixTimeMilliseconds(),
            Lifecycle = new Lifecycle { OriginalWriteTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(now) },
        };
        if (delay is { } wait)
        {
            entry.Lifecycle.Delay = Duration.FromTimeSpan(wait);
        }

        return entry;
    }

    private static LogEntry SmallEntry(string id) => Entry(id, 10, null);

    /// <summary>The largest entry a producer with the ingress's (default) settings still takes.</summary>
    private static LogEntry NearLimitEntry(string id, TimeSpan? delay)
    {
        using var probe = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = "127.0.0.1:1" }).Build();
        // One clock reading for every size tried and the entry returned: a timestamp's nanoseconds take 1 to 5 bytes, so an
        // entry built a moment later could be a few bytes over the size probed, and the broker refused it (once in CI).
        var at = DateTimeOffset.UtcNow;
        int low = 990_000, high = 1_000_000;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            try
            {
                probe.Produce("probe", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(id), Value = Entry(id, middle, delay, at).ToByteArray() });
                low = middle;
            }
            catch (ProduceException<byte[], byte[]> refused) when (refused.Error.Code == ErrorCode.MsgSizeTooLarge)
            {
                high = middle - 1;
            }
        }

        return Entry(id, low, delay, at);
    }

    private async Task ProduceAsIngressAsync(LogEntry entry)
    {
        // Keyed as the ingress keys an upstream write: by its id.
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _topology.Kafka.BootstrapServers, Acks = Acks.All, EnableIdempotence = true }).Build();
        var result = await producer.ProduceAsync($"wal.{Ns}", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(entry.Id), Value = entry.ToByteArray() });
        Assert.Equal(PersistenceStatus.Persisted, result.Status);
    }

    private async Task WaitAsync(Func<bool> condition, string what)
    {
        await Eventually.WaitUntilAsync(condition, Deadline, $"{what}; {_topology.StreamsState}");
    }

    private sealed class ScriptedSink : ISink
    {
        public ConcurrentBag<string> Retriable { get; } = [];

        public ConcurrentBag<string> Permanent { get; } = [];

        public ConcurrentQueue<string> Calls { get; } = [];

        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue(delivery.Id);
            return ValueTask.FromResult(
                Permanent.Contains(delivery.Id) ? DeliveryResult.Permanent(LongError)
                : Retriable.Contains(delivery.Id) ? DeliveryResult.Retriable(LongError)
                : DeliveryResult.Delivered);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
