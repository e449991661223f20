using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams.TestDriver;
using Wal.Topology.Dispatch;

namespace Wal.Topology.Tests;

public sealed class DispatchProcessorTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private readonly ScriptedSink _sink = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<byte[], byte[]> _log;
    private readonly TestOutputTopic<byte[], byte[]> _deadLetters;

    public DispatchProcessorTests()
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "demo",
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
                Multiplier = 2,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                MaxAttempts = 3,
            },
        }]);
        var topology = WalTopology.Build(registry, _sink, new WalTopologyOptions { PersistentStores = false, TimerTick = TimeSpan.FromMilliseconds(100) });
        _driver = new TopologyTestDriver(topology, initialWallClockTime: Start);
        _log = _driver.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray);
        _deadLetters = _driver.CreateOutputTopic("wal.demo.dlq", Deserializers.ByteArray, Deserializers.ByteArray);
    }

    public void Dispose() => _driver.Dispose();

    // Written around the ingress, which refuses a non-normalized duration: thrown, it failed the
    // stream thread on every restart.
    [Fact]
    public async Task EntryWithANonNormalizedDelay_IsDeadLetteredNotThrown()
    {
        var entry = new LogEntry
        {
            Id = "bad-delay",
            Namespace = "demo",
            AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
            Payload = ByteString.CopyFromUtf8("x"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "k" } },
            Lifecycle = new Lifecycle { Delay = new Duration { Seconds = 1, Nanos = -5 } },
        };

        var thrown = await Record.ExceptionAsync(async () => await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray()));

        Assert.Null(thrown);
        var dead = _deadLetters.ReadRecord();
        Assert.Equal(entry.ToByteArray(), dead.Value);
        Assert.StartsWith("a malformed lifecycle", Encoding.UTF8.GetString(dead.Headers.GetLastBytes(DeadLetterHeaders.Error)), StringComparison.Ordinal);
        Assert.Empty(_sink.Calls);
    }

    [Fact]
    public async Task Process_EntryDueNow_IsDeliveredOnceWithItsVersion()
    {
        await PipeAsync(Entry("a", acceptedAt: Start));

        var call = Assert.Single(_sink.Calls);
        Assert.Equal("a", call.Id);
        Assert.Equal(Start.ToUnixTimeMilliseconds() * 1000, call.Version);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_DelayedEntry_IsNotDeliveredBeforeItIsDue()
    {
        var entry = Entry("later", acceptedAt: Start);
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };

        await PipeAsync(entry);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(900));

        Assert.Empty(_sink.Calls);
        Assert.Equal(1, _driver.GetKeyValueStore(WalTopology.TimerStoreName("demo")).ApproximateCount);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Single(_sink.Calls);
        Assert.Equal(0, _driver.GetKeyValueStore(WalTopology.TimerStoreName("demo")).ApproximateCount);
    }

    [Fact]
    public async Task Timer_ProcessDiesWhileItsDeliveryIsInFlight_ARestoreStillHoldsTheTimer()
    {
        // The delayed entry's input offset is committed once it waits in the store: from then on
        // its timer is its only copy, and a restore reads the changelog to its end.
        var timers = Changelog(WalTopology.TimerStoreName("demo"));
        var entry = Entry("later", acceptedAt: Start);
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };
        var restoredInFlight = new List<int>();
        _sink.WhileDelivering = _ => restoredInFlight.Add(timers.CatchUp().Count);
        _sink.Then(DeliveryResult.Retriable("target down"));

        await PipeAsync(entry);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        var restoredWhileRetrying = timers.CatchUp().Count;
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(2, _sink.Calls.Count);
        // In flight: the first attempt's timer, then the retry's; between them only the retry's.
        Assert.Equal([1, 1], restoredInFlight);
        Assert.Equal(1, restoredWhileRetrying);
        Assert.Empty(timers.CatchUp());
    }

    [Fact]
    public async Task Process_DeliverAtInThePast_IsDeliveredAtOnce()
    {
        var entry = Entry("overdue", acceptedAt: Start);
        entry.Lifecycle = new Lifecycle { DeliverAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Start.AddHours(-1)) };

        await PipeAsync(entry);

        Assert.Single(_sink.Calls);
    }

    [Fact]
    public async Task Process_ManyDelays_AreDeliveredInDueOrder()
    {
        foreach (var (id, seconds) in new[] { ("c", 3), ("a", 1), ("b", 2) })
        {
            var entry = Entry(id, acceptedAt: Start);
            entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds)) };
            await PipeAsync(entry);
        }

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(["a", "b", "c"], _sink.Calls.Select(c => c.Id));
    }

    [Fact]
    public async Task Process_RetriableFailure_IsRetriedAfterBackoffUntilDelivered()
    {
        _sink.Then(DeliveryResult.Retriable("target down"), DeliveryResult.Retriable("still down"));

        await PipeAsync(Entry("r", acceptedAt: Start));
        Assert.Single(_sink.Calls);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(50));
        Assert.Single(_sink.Calls); // first backoff is 100 ms
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(50));
        Assert.Equal(2, _sink.Calls.Count);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(2, _sink.Calls.Count); // second backoff is 200 ms
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(3, _sink.Calls.Count);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, _sink.Calls.Count);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_TargetAsksToRetryLater_NextAttemptWaitsThatLong()
    {
        // A 429 with Retry-After: 5 s. The policy alone would try again after 100 ms and meet the same refusal.
        _sink.Then(DeliveryResult.Retriable("too many requests", TimeSpan.FromSeconds(5)));

        await PipeAsync(Entry("busy", acceptedAt: Start));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(4.9));
        Assert.Single(_sink.Calls);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Equal(2, _sink.Calls.Count);
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_RetriableFailureEveryTime_GoesToTheDeadLetterTopicAfterMaxAttempts()
    {
        _sink.Otherwise = DeliveryResult.Retriable("connection refused");

        await PipeAsync(Entry("doomed", acceptedAt: Start));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(3, _sink.Calls.Count);
        var dead = _deadLetters.ReadRecord();
        Assert.Equal("doomed", LogEntry.Parser.ParseFrom(dead.Value).Id);
        Assert.Equal("connection refused", Header(dead.Headers, DeadLetterHeaders.Error));
        Assert.Equal("3", Header(dead.Headers, DeadLetterHeaders.Attempts));
        Assert.Equal("retriable", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("wal.demo", Header(dead.Headers, DeadLetterHeaders.SourceTopic));
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task Process_SinkThrowsEveryTime_RetriedThenDeadLetteredWithTheErrorAndTheNextRecordStillFlows()
    {
        // A sink must answer, not throw; one that throws (a bug, a setting it cannot use) used to fail the stream
        // thread, and with it every namespace on the thread.
        _sink.WhileDelivering = delivery =>
        {
            if (delivery.Id == "thrown")
            {
                throw new InvalidOperationException("No such configuration property");
            }
        };

        await PipeAsync(Entry("thrown", acceptedAt: Start));
        await PipeAsync(Entry("next", acceptedAt: Start));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(3, _sink.Calls.Count(c => c.Id == "thrown"));
        Assert.Equal(1, _sink.Calls.Count(c => c.Id == "next"));
        var dead = _deadLetters.ReadRecord();
        Assert.Equal("thrown", LogEntry.Parser.ParseFrom(dead.Value).Id);
        Assert.Equal("the sink failed unexpectedly (InvalidOperationException): No such configuration property", Header(dead.Headers, DeadLetterHeaders.Error));
        Assert.Equal("retriable", Header(dead.Headers, DeadLetterHeaders.Reason));
    }

    [Fact]
    public async Task Process_PermanentFailure_GoesToTheDeadLetterTopicAtOnce()
    {
        _sink.Then(DeliveryResult.Permanent("key too long"));

        await PipeAsync(Entry("bad-key", acceptedAt: Start));

        Assert.Single(_sink.Calls);
        var dead = _deadLetters.ReadRecord();
        Assert.Equal("permanent", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.Equal("1", Header(dead.Headers, DeadLetterHeaders.Attempts));
    }

    [Fact]
    public async Task Process_PoisonRecord_IsDeadLetteredAndTheNextRecordStillFlows()
    {
        await _log.PipeInputAsync([1], [0x0A, 0xFF, 0xFF]);
        await PipeAsync(Entry("next", acceptedAt: Start));

        var dead = _deadLetters.ReadRecord();
        Assert.Equal(new byte[] { 0x0A, 0xFF, 0xFF }, dead.Value);
        Assert.StartsWith("not a wal.v1.LogEntry", Header(dead.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal("next", Assert.Single(_sink.Calls).Id);
    }

    private async Task PipeAsync(LogEntry entry) =>
        await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());

    private static LogEntry Entry(string id, DateTimeOffset acceptedAt) => new()
    {
        Id = id,
        Namespace = "demo",
        AcceptedAtMs = acceptedAt.ToUnixTimeMilliseconds(),
        Payload = ByteString.CopyFromUtf8("v-" + id),
        Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = id } },
    };

    private static string Header(Headers headers, string name) => Encoding.UTF8.GetString(headers.GetLastBytes(name));

    private ChangelogReplica Changelog(string store) =>
        new(_driver.CreateOutputTopic($"test-driver-{store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray));
}
