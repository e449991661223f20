using System.Collections.Concurrent;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Xunit.Abstractions;

namespace Wal.Topology.Tests;

/// <summary>
/// A mutation's expiry timer runs on the wall clock. When the topology is down for longer than mutation_expiry, the
/// timer is due the moment the task starts again, while the rest of the mutation, acknowledged to its writer during
/// the outage, still waits in the backlog. The expiry must wait for the backlog written before its deadline; and it
/// must not wait for a backlog that never ends.
/// </summary>
public sealed class ExpiryAfterOutageTests(ITestOutputHelper output) : RestartableTopologyTest
{
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(2);
    private readonly RecordingSink _sink = new();

    [Fact]
    public async Task OutageLongerThanExpiry_MutationCompletedInTheBacklogIsApplied()
    {
        var registry = new NamespaceRegistry([Namespace()]);
        var ns = registry.All.Single();
        using var producer = Producer();
        long firstRecordMs;
        await using (var first = Host(registry))
        {
            await first.StartAsync();
            firstRecordMs = await ProduceAsync(producer, ns, new LogEntry { Id = "m/0", Chunk = Chunk(ns, "m", 0) });
            // An entry after the chunk: once it is delivered, the chunk before it has been read and its expiry set.
            await ProduceAsync(producer, ns, Entry("seen"));
            await Eventually.WaitUntilAsync(() => _sink.Delivered.ContainsKey("seen"), TimeSpan.FromSeconds(40), "the first instance to read the first chunk");
        }

        // The writer sent the rest at once, and the ingress acknowledged it, during the outage; a slow entry ahead of it
        // keeps it unread past the first timer tick of the restarted task.
        await ProduceAsync(producer, ns, Entry("slow"), firstRecordMs + 1);
        await ProduceAsync(producer, ns, new LogEntry { Id = "m/1", Chunk = Chunk(ns, "m", 1) }, firstRecordMs + 2);
        await ProduceAsync(producer, ns, Marker(ns, "m", 2), firstRecordMs + 3);
        // The outage itself: the restart comes after the mutation's expiry on the wall clock.
        await Task.Delay(Expiry + TimeSpan.FromMilliseconds(500));

        await using (var second = Host(registry))
        {
            await second.StartAsync();
            await Eventually.WaitUntilAsync(
                () => Task.FromResult(_sink.Delivered.ContainsKey("m/0") && _sink.Delivered.ContainsKey("m/1")),
                TimeSpan.FromSeconds(40),
                () => $"the mutation completed in the backlog to be applied ({second.Streams.State}; delivered [{string.Join(", ", _sink.Delivered.Keys)}])");
        }

        Assert.Equal(0, DeadLetterCount(ns));
    }

    [Fact]
    public Task BacklogThatDoesNotEnd_MutationExpiresOnceRecordsPastItsDeadlineAreRead() => ExpiresWhileTheBacklogIsReadAsync(firstPieceAheadMs: 0);

    [Fact]
    public Task FirstPieceStampedAheadOfTheReadersClock_BacklogThatDoesNotEnd_MutationStillExpires() =>
        // The first chunk went through an ingress whose clock is an hour ahead (CreateTime is the producer's clock, and
        // replication keeps the origin region's); everything after it is stamped by correct clocks, past the deadline.
        ExpiresWhileTheBacklogIsReadAsync(firstPieceAheadMs: (long)TimeSpan.FromHours(1).TotalMilliseconds);

    /// <summary>
    /// A backlog that outlasts the mutation's expiry on the wall clock (2 s): entries slow to deliver (about 4 s of them),
    /// written after the mutation's deadline by their timestamps, and a last one held until the mutation's dead letter is
    /// out. The task never reads all its input before that, so only the stream time can end the wait.
    /// </summary>
    private async Task ExpiresWhileTheBacklogIsReadAsync(long firstPieceAheadMs)
    {
        var registry = new NamespaceRegistry([Namespace()]);
        var ns = registry.All.Single();
        // One batch, read by one fetch: the backlog is all in Kafka before the task reads past the mutation's first chunk.
        using var producer = Producer(lingerMs: 100);
        using var deadLetters = DeadLetterReader(ns);
        await using var host = Host(registry);
        await host.StartAsync();
        await Eventually.WaitUntilAsync(() => host.Streams.State == KafkaStreamsState.Running, TimeSpan.FromSeconds(40), "the instance to run");
        _sink.Hold = "held";
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var deadlineMs = nowMs + (long)Expiry.TotalMilliseconds;
        var writes = new List<Task<long>>
        {
            ProduceAsync(producer, ns, new LogEntry { Id = "m/0", Chunk = Chunk(ns, "m", 0) }, nowMs + firstPieceAheadMs),
            ProduceAsync(producer, ns, Entry("slow"), nowMs + 1),
        };
        for (var i = 0; i < 40; i++)
        {
            writes.Add(ProduceAsync(producer, ns, Entry($"later-{i}"), deadlineMs + 1 + i));
        }

        writes.Add(ProduceAsync(producer, ns, Entry("held"), deadlineMs + 100));
        await Task.WhenAll(writes);

        ConsumeResult<string, byte[]>? dead = null;
        await Eventually.WaitUntilAsync(
            () => Task.FromResult((dead = deadLetters.Consume(TimeSpan.FromMilliseconds(200))) is not null),
            TimeSpan.FromSeconds(40),
            () => $"the mutation's dead letter while the backlog is read ({host.Streams.State}; delivered [{string.Join(", ", _sink.Delivered.Keys)}])");
        Assert.Equal("m", dead!.Message.Key);
        Assert.False(_sink.Attempted.ContainsKey("held"), "the dead letter waited for the end of the backlog");
        _sink.Release.Set();
    }

    private static NamespaceConfig Namespace() => new()
    {
        Name = "kv",
        Partitions = 1,
        Personas = { Persona.MultiTableMutation },
        DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
        MutationExpiry = Duration.FromTimeSpan(Expiry),
    };

    private WalTopologyHost Host(INamespaceRegistry registry) => new(
        registry,
        _sink,
        new WalTopologyOptions { PersistentStores = true },
        // One record between punctuations: the expiry timer gets its turn while the backlog is read.
        Streams("expiry-outage") with { MaxBatchPerTask = 1 },
        Kafka,
        new Wal.Streams.Tests.TestOutputLoggerFactory(output));

    private long DeadLetterCount(NamespaceConfig ns)
    {
        using var consumer = DeadLetterReader(ns);
        return consumer.QueryWatermarkOffsets(new TopicPartition(ns.DeadLetterTopic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }

    private static LogEntry Entry(string id) => new() { Id = id, Payload = ByteString.CopyFromUtf8("v") };

    private static LogEntry Marker(NamespaceConfig ns, string requestId, uint count) =>
        new() { Id = $"{requestId}/complete", Completion = new MutationCompletion { Namespace = ns.Name, RequestId = requestId, ChunkCount = count } };

    /// <summary>Delivers everything; "slow" takes a moment, as a slow target does, and the entry named <see cref="Hold"/> waits for <see cref="Release"/>.</summary>
    private sealed class RecordingSink : ISink
    {
        public ConcurrentDictionary<string, bool> Attempted { get; } = new();

        public ConcurrentDictionary<string, bool> Delivered { get; } = new();

        public string? Hold { get; set; }

        public ManualResetEventSlim Release { get; } = new();

        public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Attempted[delivery.Id] = true;
            if (delivery.Id == "slow")
            {
                // Longer than the timer tick: the restarted task's first punctuation comes before the next record.
                await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken);
            }
            else if (delivery.Id.StartsWith("later-", StringComparison.Ordinal))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }
            else if (delivery.Id == Hold)
            {
                Release.Wait(TimeSpan.FromSeconds(30), cancellationToken);
            }

            Delivered[delivery.Id] = true;
            return DeliveryResult.Delivered;
        }

        public ValueTask DisposeAsync()
        {
            Release.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
