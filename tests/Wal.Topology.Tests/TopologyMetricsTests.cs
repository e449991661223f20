using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams.TestDriver;

namespace Wal.Topology.Tests;

/// <summary>What the processors count on <see cref="TopologyMetrics"/>, on the test driver's manual clock.</summary>
public sealed class TopologyMetricsTests : IDisposable
{
    private const string Ns = "metered";
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ScriptedSink _sink = new();
    private readonly RecordedMetrics _recorded = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<byte[], byte[]> _log;
    private readonly TestOutputTopic<byte[], byte[]> _deadLetters;

    public TopologyMetricsTests()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = Ns,
            Personas = { Persona.MultiTableMutation },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
            MaxDelay = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
            MutationExpiry = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
                Multiplier = 1,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
                MaxAttempts = 3,
            },
        }]);
        var options = new WalTopologyOptions { PersistentStores = false, TimerTick = TimeSpan.FromMilliseconds(100) };
        _driver = new TopologyTestDriver(WalTopology.Build(registry, _sink, options, metrics: _recorded.Metrics), initialWallClockTime: Start);
        _log = _driver.CreateInputTopic($"wal.{Ns}", Serializers.ByteArray, Serializers.ByteArray);
        _deadLetters = _driver.CreateOutputTopic($"wal.{Ns}.dlq", Deserializers.ByteArray, Deserializers.ByteArray);
    }

    public void Dispose()
    {
        _driver.Dispose();
        _recorded.Dispose();
    }

    [Fact]
    public async Task Deliver_EntryDueNow_CountsOneDeliveryWithItsNamespaceSinkAndOutcome()
    {
        await PipeAsync(Entry("a", new Target { Kafka = new KafkaTarget { Topic = "out" } }));

        Assert.Single(_sink.Calls);
        Assert.Equal(["namespace=metered,outcome=delivered,sink=kafka"], _recorded.TagSets("wal.topology.deliveries"));
        Assert.Equal(1, _recorded.Sum("wal.topology.deliveries"));
        // Due when it was accepted, and answered at once on the manual clock.
        Assert.Equal([0.0], _recorded.Values("wal.topology.delivery.latency", ("namespace", Ns), ("sink", "kafka")));
        Assert.Equal(0, _recorded.Sum("wal.topology.dead_letters"));
    }

    [Fact]
    public async Task Deliver_SupersededAnswer_CountsAsSuperseded()
    {
        _sink.Then(DeliveryResult.Superseded);

        await PipeAsync(Entry("old", Memcached("old")));

        Assert.Equal(["namespace=metered,outcome=superseded,sink=memcached"], _recorded.TagSets("wal.topology.deliveries"));
    }

    [Fact]
    public async Task Deliver_RetriedUntilItsLastAttempt_CountsEachRetryAndOneDeadLetterWithItsReason()
    {
        _sink.Otherwise = DeliveryResult.Retriable("target down");

        await PipeAsync(Entry("doomed", Memcached("doomed")));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Equal(3, _sink.Calls.Count);
        Assert.Single(_deadLetters.ReadRecordsToList());
        Assert.Equal(2, _recorded.Sum("wal.topology.deliveries", ("namespace", Ns), ("sink", "memcached"), ("outcome", "retried")));
        Assert.Equal(1, _recorded.Sum("wal.topology.deliveries", ("namespace", Ns), ("sink", "memcached"), ("outcome", "dead_lettered")));
        Assert.Equal(0, _recorded.Sum("wal.topology.deliveries", ("outcome", "delivered")));
        Assert.Equal(["namespace=metered,reason=retriable"], _recorded.TagSets("wal.topology.dead_letters"));
        Assert.Equal(1, _recorded.Sum("wal.topology.dead_letters"));
        // The two retries waited in the delay queue.
        Assert.Equal(2, _recorded.Sum("wal.topology.timers.scheduled", ("namespace", Ns)));
        Assert.Equal(2, _recorded.Sum("wal.topology.timers.fired", ("namespace", Ns)));
    }

    [Fact]
    public async Task Deliver_PermanentFailure_CountsADeadLetterReasonPermanentAndNoRetry()
    {
        _sink.Then(DeliveryResult.Permanent("no such cluster"));

        await PipeAsync(Entry("bad", Memcached("bad")));

        Assert.Equal(["namespace=metered,outcome=dead_lettered,sink=memcached"], _recorded.TagSets("wal.topology.deliveries"));
        Assert.Equal(["namespace=metered,reason=permanent"], _recorded.TagSets("wal.topology.dead_letters"));
    }

    [Fact]
    public async Task Process_NotALogEntry_CountsADeadLetterButNoDelivery()
    {
        await _log.PipeInputAsync("k"u8.ToArray(), [0xFF, 0xFF, 0xFF]);

        Assert.Single(_deadLetters.ReadRecordsToList());
        Assert.Equal(["namespace=metered,reason=permanent"], _recorded.TagSets("wal.topology.dead_letters"));
        Assert.Empty(_recorded.TagSets("wal.topology.deliveries"));
    }

    [Fact]
    public async Task Timer_DelayedEntry_CountsItsTimerAndHowLateItFired()
    {
        var entry = Entry("later", Memcached("later"));
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };

        await PipeAsync(entry);
        Assert.Equal(1, _recorded.Sum("wal.topology.timers.scheduled", ("namespace", Ns)));
        Assert.Equal(0, _recorded.Sum("wal.topology.timers.fired"));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(1050));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Single(_sink.Calls);
        var lateness = Assert.Single(_recorded.Values("wal.topology.timers.lateness", ("namespace", Ns)));
        Assert.InRange(lateness, 0, 0.15);
        Assert.Equal(1, _recorded.Sum("wal.topology.timers.fired", ("namespace", Ns)));
        // Latency runs from the due time, not from acceptance a second earlier.
        Assert.InRange(Assert.Single(_recorded.Values("wal.topology.delivery.latency")), 0, 0.15);
    }

    [Fact]
    public async Task Timer_MutationIncompleteAtItsExpiry_CountsOneExpiredMutationAndItsDeadLetter()
    {
        await ChunkAsync("m1", 0);
        await MarkerAsync("m1", 2);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10));

        Assert.Single(_deadLetters.ReadRecordsToList());
        Assert.Equal(1, _recorded.Sum("wal.topology.mutations.expired", ("namespace", Ns)));
        Assert.Equal(0, _recorded.Sum("wal.topology.mutations.assembled"));
        Assert.Equal(["namespace=metered,reason=expired"], _recorded.TagSets("wal.topology.dead_letters"));

        await ChunkAsync("m1", 1);

        Assert.Equal(1, _recorded.Sum("wal.topology.mutations.late_pieces", ("namespace", Ns)));
        Assert.Equal(1, _recorded.Sum("wal.topology.dead_letters", ("namespace", Ns), ("reason", "late")));
    }

    [Fact]
    public async Task Process_MutationComplete_CountsItAssembledOnce()
    {
        await ChunkAsync("m2", 0);
        await ChunkAsync("m2", 1);
        await MarkerAsync("m2", 2);

        Assert.Equal(2, _sink.Calls.Count);
        Assert.Equal(["namespace=metered"], _recorded.TagSets("wal.topology.mutations.assembled"));
        Assert.Equal(1, _recorded.Sum("wal.topology.mutations.assembled"));
        Assert.Equal(0, _recorded.Sum("wal.topology.dead_letters"));
    }

    [Fact]
    public async Task Timer_MutationRetriedAtItsFailedChunk_CountsEachChunkOnceAndTheRetryFromItsTimersDueTime()
    {
        _sink.Then(DeliveryResult.Delivered, DeliveryResult.Retriable("target down"));

        await ChunkAsync("m3", 0);
        await ChunkAsync("m3", 1);
        await ChunkAsync("m3", 2);
        await MarkerAsync("m3", 3);
        // The retry's timer is due 100 ms after the failure; it fires 50 ms late.
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(150));

        Assert.Equal(["m3/0", "m3/1", "m3/1", "m3/2"], _sink.Calls.Select(c => c.Id));
        Assert.Equal(3, _recorded.Sum("wal.topology.deliveries", ("namespace", Ns), ("sink", "memcached"), ("outcome", "delivered")));
        Assert.Equal(1, _recorded.Sum("wal.topology.deliveries", ("namespace", Ns), ("sink", "memcached"), ("outcome", "retried")));
        Assert.Equal(4, _recorded.Sum("wal.topology.deliveries"));
        Assert.Equal([0.0, 0.0, 0.05, 0.05], _recorded.Values("wal.topology.delivery.latency", ("namespace", Ns), ("sink", "memcached")));
    }

    [Fact]
    public async Task Process_MutationChunkWithoutADelivery_CountsItDeadLetteredUnderTheDefaultTargetsSink()
    {
        await ChunkAsync("m4", 0);
        await _log.PipeInputAsync("m4"u8.ToArray(), new LogEntry
        {
            Id = "m4/1",
            Namespace = Ns,
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
            Chunk = new MutationChunk { Namespace = Ns, RequestId = "m4", Sequence = 1, Table = "table", Version = 1001 },
        }.ToByteArray());
        await MarkerAsync("m4", 2);

        Assert.Single(_deadLetters.ReadRecordsToList());
        Assert.Equal(["namespace=metered,reason=permanent"], _recorded.TagSets("wal.topology.dead_letters"));
        Assert.Equal(1, _recorded.Sum("wal.topology.deliveries", ("namespace", Ns), ("sink", "memcached"), ("outcome", "delivered")));
        Assert.Equal(1, _recorded.Sum("wal.topology.deliveries", ("namespace", Ns), ("sink", "memcached"), ("outcome", "dead_lettered")));
        Assert.Equal(2, _recorded.Sum("wal.topology.deliveries"));
    }

    private async Task PipeAsync(LogEntry entry) =>
        await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());

    private static Target Memcached(string key) => new() { Memcached = new MemcachedTarget { Cluster = "local", Key = key } };

    private static LogEntry Entry(string id, Target target) => new()
    {
        Id = id,
        Namespace = Ns,
        AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
        Payload = ByteString.CopyFromUtf8("v-" + id),
        Target = target,
    };

    private ValueTask ChunkAsync(string requestId, uint sequence) =>
        _log.PipeInputAsync(Encoding.UTF8.GetBytes(requestId), new LogEntry
        {
            Id = $"{requestId}/{sequence}",
            Namespace = Ns,
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
            Chunk = new MutationChunk
            {
                Namespace = Ns,
                RequestId = requestId,
                Sequence = sequence,
                Table = "table",
                Put = new Put { Key = ByteString.CopyFromUtf8($"key-{sequence}"), Value = ByteString.CopyFromUtf8($"value-{sequence}") },
                Version = 1000 + sequence,
            },
        }.ToByteArray());

    private ValueTask MarkerAsync(string requestId, uint chunkCount) =>
        _log.PipeInputAsync(Encoding.UTF8.GetBytes(requestId), new LogEntry
        {
            Id = $"{requestId}/complete",
            Namespace = Ns,
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
            Completion = new MutationCompletion { Namespace = Ns, RequestId = requestId, ChunkCount = chunkCount },
        }.ToByteArray());
}
