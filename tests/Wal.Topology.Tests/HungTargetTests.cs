using System.Collections.Concurrent;
using System.Diagnostics;
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
/// One namespace's target accepts and never answers while it has many due timers; another namespace shares the stream
/// thread. Scaled down: a 200 ms delivery timeout and 100 timers (defaults: 5 s and up to 2,000 per punctuation).
/// </summary>
public sealed class HungTargetTests : IAsyncLifetime
{
    private readonly HangingSink _sink = new();
    private MockClusterTopology _topology = null!;

    public async Task InitializeAsync()
    {
        var registry = new NamespaceRegistry(
        [
            new NamespaceConfig { Name = "slow", Partitions = 1, Personas = { Persona.DelayQueue } },
            new NamespaceConfig { Name = "fast", Partitions = 1, Personas = { Persona.Delivery } },
        ]);
        _topology = new MockClusterTopology(
            "hung-target", registry, _sink, new WalTopologyOptions { PersistentStores = false, DeliveryTimeout = TimeSpan.FromMilliseconds(200) });
        await _topology.Host.StartAsync();
    }

    public async Task DisposeAsync() => await _topology.DisposeAsync();

    [Theory]
    [InlineData(true)] // attempted by the timer punctuation
    [InlineData(false)] // attempted as their records are processed (already due)
    public async Task OneNamespacesTargetHangs_AnotherNamespacesWriteIsDeliveredWithinAboutATimeSlice(bool throughTimers)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _topology.Kafka.BootstrapServers, LingerMs = 0 }).Build();
        await Eventually.WaitUntilAsync(() => _topology.Host.Streams.State == KafkaStreamsState.Running, TimeSpan.FromSeconds(40), "the topology to run");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < 100; i++)
        {
            // Due in 2 s (stored as timers first), or due 8 s ago.
            await ProduceAsync(producer, "slow", $"slow-{i}", throughTimers ? now : now - 10_000, TimeSpan.FromSeconds(2));
        }

        await Eventually.WaitUntilAsync(() => _sink.SlowAttempts >= 2, TimeSpan.FromSeconds(40), "the slow namespace's timers to fire");
        var clock = Stopwatch.StartNew();
        await ProduceAsync(producer, "fast", "fast-1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null);
        await Eventually.WaitUntilAsync(() => _sink.Delivered.ContainsKey("fast-1"), TimeSpan.FromSeconds(40), "the fast namespace's write");

        // Before, the thread ran the hung attempts first (9 to 20 s here); now it moves on after about 1 s of them.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"namespace 'fast' delivered after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private static async Task ProduceAsync(IProducer<byte[], byte[]> producer, string ns, string id, long acceptedAt, TimeSpan? delay)
    {
        var entry = new LogEntry
        {
            Id = id,
            Namespace = ns,
            Payload = ByteString.CopyFromUtf8("x"),
            Target = new Target { Upstream = new UpstreamTarget { Url = $"https://{ns}.example.test/hook" } },
            AcceptedAtMs = acceptedAt,
            Lifecycle = delay is { } wait ? new Lifecycle { Delay = Duration.FromTimeSpan(wait) } : null,
        };
        await producer.ProduceAsync($"wal.{ns}", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(id), Value = entry.ToByteArray() });
    }

    private sealed class HangingSink : ISink
    {
        private int _slowAttempts;

        public ConcurrentDictionary<string, bool> Delivered { get; } = new();

        public int SlowAttempts => Volatile.Read(ref _slowAttempts);

        public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            if (delivery.Id.StartsWith("slow-", StringComparison.Ordinal))
            {
                // A target that accepted the connection and never answers: the topology's timeout ends the attempt.
                Interlocked.Increment(ref _slowAttempts);
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            Delivered[delivery.Id] = true;
            return DeliveryResult.Delivered;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
