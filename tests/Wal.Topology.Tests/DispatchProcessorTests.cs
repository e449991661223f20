using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams.TestDriver;
using Wal.Topology.Delay;
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
        _driver = Driver(_sink, Start);
        _log = _driver.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray);
        _deadLetters = _driver.CreateOutputTopic("wal.demo.dlq", Deserializers.ByteArray, Deserializers.ByteArray);
    }

    public void Dispose() => _driver.Dispose();

    private static TopologyTestDriver Driver(ISink sink, DateTimeOffset now, NamespaceRegistry? registry = null)
    {
        var topology = WalTopology.Build(registry ?? DemoRegistry(), sink, new WalTopologyOptions { PersistentStores = false, TimerTick = TimeSpan.FromMilliseconds(100) });
        return new TopologyTestDriver(topology, initialWallClockTime: now);
    }

    private static NamespaceRegistry DemoRegistry() => new([new NamespaceConfig
        {
            Name = "demo",
            MaxDelay = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
                Multiplier = 2,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                MaxAttempts = 3,
            },
        }]);

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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Timer_DueWhileItsNamespaceIsDeleted_WaitsUntilItIsCreatedAgain(bool delayed)
    {
        // The running topology drops a deleted namespace's processors only at its rebuild, a debounce and a close after
        // the delete; admin.proto says its delayed writes and retries stay undelivered while it is gone, and carry on
        // once it is created again.
        var registry = DemoRegistry();
        var sink = new ScriptedSink();
        using var driver = Driver(sink, Start, registry);
        var log = driver.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray);
        if (!delayed)
        {
            sink.Then(DeliveryResult.Retriable("cluster down"));
        }

        var entry = delayed ? Later("parked", TimeSpan.FromSeconds(1)) : Entry("parked", Start);
        await log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        var attemptsBefore = sink.Calls.Count;
        Assert.True(registry.TryGet("demo", out var demo));
        registry.Remove("demo");

        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(attemptsBefore, sink.Calls.Count);
        registry.Upsert(demo);
        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(attemptsBefore + 1, sink.Calls.Count);
        Assert.Equal("parked", sink.Calls[^1].Id);
    }

    [Fact]
    public async Task Process_EntryReadAfterItsNamespaceWasDeleted_WaitsUntilItIsCreatedAgain()
    {
        // The running topology reads a deleted namespace's backlog until its rebuild: an entry read then was delivered
        // after the delete was acknowledged (and retried under the defaults' policy), where admin.proto says the
        // namespace's writes wait while it is gone and carry on once it is created again.
        var registry = DemoRegistry();
        var sink = new ScriptedSink();
        using var driver = Driver(sink, Start, registry);
        var log = driver.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray);
        Assert.True(registry.TryGet("demo", out var demo));
        registry.Remove("demo");
        var entry = Entry("read-after-delete", Start);

        await log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(5));

        Assert.Empty(sink.Calls);
        registry.Upsert(demo);
        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(["read-after-delete"], sink.Calls.Select(c => c.Id));
    }

    // An entry read while its namespace is deleted waits as its first timer. Read again after a crash (its input not yet
    // committed), it finds that timer due, and an entry with a Kafka record key had it fired from the input at once: the
    // entry was delivered while its namespace was gone, the wait the timer stood for skipped.
    [Fact]
    public async Task InputReadAgain_WhileItsNamespaceIsDeleted_ItsWaitingTimerStored_IsNotDelivered()
    {
        var entry = Later("keyed", TimeSpan.FromSeconds(1));
        entry.Target = new Target { Kafka = new KafkaTarget { Topic = "out", Key = ByteString.CopyFromUtf8("k") } };
        var registry = DemoRegistry();
        var sink = new ScriptedSink();
        using var driver = Driver(sink, Start.AddSeconds(5), registry);
        var changelog = driver.CreateOutputTopic($"test-driver-{WalTopology.TimerStoreName("demo")}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        registry.Remove("demo");
        await driver.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray).PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        Assert.Empty(sink.Calls);
        var writes = changelog.ReadRecordsToList();

        var restoredRegistry = DemoRegistry();
        using var restored = Driver(sink, Start.AddSeconds(6), restoredRegistry);
        ChangelogReplica.Replay(restored.GetKeyValueStore(WalTopology.TimerStoreName("demo")), writes);
        restoredRegistry.Remove("demo");
        await restored.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray).PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(5));

        Assert.Empty(sink.Calls);
        restoredRegistry.Upsert(DemoRegistry().All.Single());
        await restored.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(["keyed"], sink.Calls.Select(c => c.Id));
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
    public async Task Process_EntryWaitingForARetry_HoldsItsTimerAndItsChainsMarker()
    {
        // docs/metrics.md reads the timer store's entries as the delay queue's depth: a retry counts twice there.
        _sink.Then(DeliveryResult.Retriable("target down"));

        await PipeAsync(Entry("a", acceptedAt: Start));

        Assert.Single(_sink.Calls);
        Assert.Equal(2, _driver.GetKeyValueStore(WalTopology.TimerStoreName("demo")).ApproximateCount);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(2, _sink.Calls.Count);
        Assert.Equal(0, _driver.GetKeyValueStore(WalTopology.TimerStoreName("demo")).ApproximateCount);
    }

    [Fact]
    public async Task Timer_ProcessDiesWhileItsDeliveryIsInFlight_ARestoreStillHoldsTheTimer()
    {
        // The delayed entry's input is committed at the commit interval, which may come before its timer fires: from
        // then on its timer is its only copy, and a restore reads the changelog to its end.
        var timers = Changelog(WalTopology.TimerStoreName("demo"));
        var entry = Entry("later", acceptedAt: Start);
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };
        var restoredInFlight = new List<int>();
        _sink.WhileDelivering = _ => restoredInFlight.Add(timers.CatchUp().Count(k => !ChainKey.IsMarker(k)));
        _sink.Then(DeliveryResult.Retriable("target down"));

        await PipeAsync(entry);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        var restoredWhileRetrying = timers.CatchUp().Count(k => !ChainKey.IsMarker(k));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(2, _sink.Calls.Count);
        // In flight: the first attempt's timer, then the retry's; between them only the retry's.
        Assert.Equal([1, 1], restoredInFlight);
        Assert.Equal(1, restoredWhileRetrying);
        Assert.Empty(timers.CatchUp());
    }

    // A crash keeps a prefix of the timer store's changelog writes. Restored from any prefix of a failed attempt's writes
    // (and, for an entry due at once, reading its uncommitted input again), the entry must go on as one chain of retries:
    // a crash between a retry's put and the fired timer's delete left two, and the entry was tried twice as often and
    // dead-lettered twice.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RetryChain_RestoredFromAnyPrefixOfAnAttemptsWrites_GoesOnAsOneChain(bool delayed)
    {
        var store = WalTopology.TimerStoreName("demo");
        var changelog = _driver.CreateOutputTopic($"test-driver-{store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        var entry = delayed ? Later("crash", TimeSpan.FromSeconds(1)) : Entry("crash", Start);
        _sink.Otherwise = DeliveryResult.Retriable("target down");
        await PipeAsync(entry);
        // An entry due at once is attempted while its input is processed: its scheduling and its attempt are one.
        List<Wal.Streams.Record<byte[], byte[]>> scheduled = [];
        if (delayed)
        {
            scheduled = changelog.ReadRecordsToList();
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        }

        Assert.Single(_sink.Calls);
        var attemptWrites = changelog.ReadRecordsToList();
        Assert.NotEmpty(attemptWrites);

        for (var kept = 0; kept <= attemptWrites.Count; kept++)
        {
            var sink = new ScriptedSink { Otherwise = DeliveryResult.Retriable("target down") };
            // A restart takes a moment: an attempt made again schedules its retry at another time than the first did.
            using var restored = Driver(sink, _driver.WallClockTime.AddMilliseconds(50));
            var timers = restored.GetKeyValueStore(store);
            ChangelogReplica.Replay(timers, scheduled.Concat(attemptWrites.Take(kept)));

            if (!delayed)
            {
                await restored.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray).PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
            }

            for (var i = 0; i < 30; i++)
            {
                await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
            }

            var deadLetters = restored.CreateOutputTopic("wal.demo.dlq", Deserializers.ByteArray, Deserializers.ByteArray).ReadRecordsToList();
            Assert.True(deadLetters.Count == 1, $"{deadLetters.Count} dead letters after a crash that kept {kept} of {attemptWrites.Count} writes");
            // Three attempts in all, and one more when the crash came before the first attempt's outcome was saved.
            Assert.True(sink.Calls.Count + 1 <= 4, $"{sink.Calls.Count + 1} attempts after a crash that kept {kept} of {attemptWrites.Count} writes");
            Assert.Equal(0, timers.ApproximateCount);
        }
    }

    // The same crashes, and the first attempt after the restore delivers the entry. That must be its last: a crash that
    // kept a retry's timer and not its chain's marker left two timers, and when the first delivered, the second attempted
    // the entry again, and a target refusing that repeat put a delivered entry in the dead-letter topic. The same came of
    // an entry due at once whose input, read again, was delivered while its retry's timer was stored. For a Kafka record
    // key, the key must not stay held by a chain that ended.
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task RetryChain_RestoredFromAnyPrefixOfAnAttemptsWrites_DeliveredOnce_IsNotAttemptedAgain(bool delayed, bool kafkaKey)
    {
        var store = WalTopology.TimerStoreName("demo");
        var changelog = _driver.CreateOutputTopic($"test-driver-{store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        var entry = delayed ? Later("crash", TimeSpan.FromSeconds(1)) : Entry("crash", Start);
        if (kafkaKey)
        {
            entry.Target = new Target { Kafka = new KafkaTarget { Topic = "out", Key = ByteString.CopyFromUtf8("k") } };
        }

        _sink.Otherwise = DeliveryResult.Retriable("target down");
        await PipeAsync(entry);
        List<Wal.Streams.Record<byte[], byte[]>> scheduled = [];
        if (delayed)
        {
            scheduled = changelog.ReadRecordsToList();
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        }

        var attemptWrites = changelog.ReadRecordsToList();
        Assert.True(attemptWrites.Count >= (kafkaKey ? 3 : 2), $"{attemptWrites.Count} writes");

        var problems = await ProblemsAfterEachPrefixAsync(attemptWrites, firstKept: 0, delayed ? null : entry, scheduled);
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }

    // A first retry fires 100 ms after its failure, long before the input is committed at the commit interval, so the
    // input is read again after a crash while the chain has moved on. A crash that kept the second retry's marker and
    // not its timer leaves the first retry's timer stored: the input took the marker naming no timer for a sign that it
    // carried the chain on, delivered the entry, and left that timer to attempt it again, refused and dead-lettered.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task InputReadAgain_AfterItsFirstRetryFailed_IsNotAttemptedAfterItsDelivery(bool kafkaKey)
    {
        var store = WalTopology.TimerStoreName("demo");
        var changelog = _driver.CreateOutputTopic($"test-driver-{store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        var entry = Entry("crash", Start);
        if (kafkaKey)
        {
            entry.Target = new Target { Kafka = new KafkaTarget { Topic = "out", Key = ByteString.CopyFromUtf8("k") } };
        }

        _sink.Otherwise = DeliveryResult.Retriable("target down");
        await PipeAsync(entry);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(2, _sink.Calls.Count);
        var writes = changelog.ReadRecordsToList();

        var problems = await ProblemsAfterEachPrefixAsync(writes, firstKept: 0, entry);
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }

    // A delayed entry's input is committed at the commit interval, not when its timer is put. Read again after its due
    // time, the entry is due at once, and its first timer, which has no marker, was still stored: the input delivered it
    // and the timer attempted it again, refused and dead-lettered.
    [Fact]
    public async Task DelayedEntryReadAgainAfterItsDueTime_ItsTimerStored_IsAttemptedOnce()
    {
        var store = WalTopology.TimerStoreName("demo");
        var changelog = _driver.CreateOutputTopic($"test-driver-{store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        var entry = Later("crash", TimeSpan.FromSeconds(1));
        _sink.Otherwise = DeliveryResult.Retriable("target down");
        await PipeAsync(entry);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        var writes = changelog.ReadRecordsToList();

        var problems = await ProblemsAfterEachPrefixAsync(writes, firstKept: 1, entry);
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }

    // A log topic recreated under a kept timer store starts its offsets at 0 again: a chain still retrying from before
    // has its marker at the very position a new record takes. The new record's timer is not the one that marker names,
    // and was dropped as superseded, never delivered nor dead-lettered.
    [Fact]
    public async Task Timer_AnotherRecordsMarkerAtItsPosition_IsStillDelivered()
    {
        var timers = _driver.GetKeyValueStore(WalTopology.TimerStoreName("demo"));
        var oldTimer = DueKey.Encode(Start.AddDays(1).ToUnixTimeMilliseconds(), "old");
        timers.Put(oldTimer, [1]);
        timers.Put(ChainKey.Encode("wal.demo", 0, 0), oldTimer);

        await PipeAsync(Later("new", TimeSpan.FromSeconds(1)));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(["new"], _sink.Calls.Select(c => c.Id));
    }

    [Fact]
    public async Task Process_DeliverAtInThePast_IsDeliveredAtOnce()
    {
        var entry = Entry("overdue", acceptedAt: Start);
        entry.Lifecycle = new Lifecycle { DeliverAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Start.AddHours(-1)) };

        await PipeAsync(entry);

        Assert.Single(_sink.Calls);
    }

    // The ingress takes any deliver_at from the year 1 on (one in the past is due at once), so a caller can send one
    // before 1970, whose due time in epoch milliseconds is negative.
    [Fact]
    public async Task Process_DeliverAtBeforeTheEpoch_IsDeliveredAtOnceNotThrown()
    {
        var entry = Entry("before-epoch", acceptedAt: Start);
        entry.Lifecycle = new Lifecycle { DeliverAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(1969, 12, 31, 0, 0, 0, TimeSpan.Zero)) };

        var thrown = await Record.ExceptionAsync(() => PipeAsync(entry));

        Assert.Null(thrown);
        Assert.Equal(["before-epoch"], _sink.Calls.Select(c => c.Id));
    }

    // common.proto: "Deliver at (not before) this wall-clock time", which a Timestamp gives to the nanosecond.
    [Fact]
    public async Task Process_DeliverAtBetweenTwoMilliseconds_IsNotDeliveredAtTheEarlierOne()
    {
        var entry = Entry("sub-ms", acceptedAt: Start);
        entry.Lifecycle = new Lifecycle { DeliverAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Start.AddTicks(TimeSpan.TicksPerMillisecond * 1001 / 10)) };

        await PipeAsync(entry);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Empty(_sink.Calls);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Single(_sink.Calls);
    }

    // `wal replay --target` writes an entry again with its id, accept time and lifecycle and another target; a delayed
    // write still waiting when the replay runs comes due at the same millisecond under the same id. Cassandra targets
    // (keyed by id) always land on the same partition, and memcached ones do in a one-partition namespace.
    [Fact]
    public async Task DelayedEntryAndItsReplayToAnotherTarget_SameIdAndDueTime_BothAreDelivered()
    {
        var original = Later("order-7", TimeSpan.FromSeconds(1));
        var replayed = original.Clone();
        replayed.Target.Memcached.Cluster = "restored";

        await PipeAsync(original);
        await PipeAsync(replayed);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(2));

        Assert.Equal(["local", "restored"], _sink.Calls.Select(c => c.Target.Memcached.Cluster).Order());
    }

    // An upgrade restarts the topology, and input not yet committed is read again. The previous version keyed a timer by
    // (due time, id) alone and truncated a due time between two milliseconds; its timers are restored as they were, and
    // the record read again must find its own there, as it did before, not schedule a second one beside it.
    [Fact]
    public async Task InputReadAgain_BeforeItsDueTime_TimerStoredByThePreviousVersion_DeliveredOnce()
    {
        var entry = Later("upgraded", TimeSpan.FromSeconds(1));
        PutPreviousVersionsTimer(_driver, entry, Start.AddSeconds(1).ToUnixTimeMilliseconds());

        await PipeAsync(entry);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(2));

        Assert.Single(_sink.Calls);
        Assert.Equal(0, _driver.GetKeyValueStore(WalTopology.TimerStoreName("demo")).ApproximateCount);
    }

    [Theory]
    [InlineData(0)] // read again before it is due: it must not put a timer of its own beside the stored one
    [InlineData(1050)] // read again after it was due, before the stored timer fired: it must not be delivered from its input too
    public async Task InputReadAgain_DeliverAtBetweenTwoMilliseconds_TimerStoredByThePreviousVersion_DeliveredOnce(int restartedAfterMs)
    {
        var entry = Entry("upgraded-sub-ms", acceptedAt: Start);
        var deliverAt = Start.AddTicks(TimeSpan.TicksPerMillisecond * 10001 / 10);
        entry.Lifecycle = new Lifecycle { DeliverAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(deliverAt) };
        using var restarted = Driver(_sink, Start.AddMilliseconds(restartedAfterMs));
        // The previous version truncated the deliver_at to the millisecond.
        PutPreviousVersionsTimer(restarted, entry, deliverAt.ToUnixTimeMilliseconds());

        await restarted.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray).PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        await restarted.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(2));

        Assert.Single(_sink.Calls);
        Assert.Equal(0, restarted.GetKeyValueStore(WalTopology.TimerStoreName("demo")).ApproximateCount);
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

    // An HttpClient timeout surfaces as TaskCanceledException, with a token the processor never gave: a failed attempt,
    // not a stop. Let through, it failed the stream thread.
    [Fact]
    public async Task Process_SinkCancelsItsOwnCall_RetriedThenDeadLetteredAndTheNextRecordStillFlows()
    {
        _sink.WhileDelivering = delivery =>
        {
            if (delivery.Id == "cancelled")
            {
                throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout elapsing.");
            }
        };

        await PipeAsync(Entry("cancelled", acceptedAt: Start));
        await PipeAsync(Entry("next", acceptedAt: Start));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal(3, _sink.Calls.Count(c => c.Id == "cancelled"));
        Assert.Equal(1, _sink.Calls.Count(c => c.Id == "next"));
        var dead = _deadLetters.ReadRecord();
        Assert.Equal("cancelled", LogEntry.Parser.ParseFrom(dead.Value).Id);
        Assert.StartsWith("the sink failed unexpectedly (TaskCanceledException)", Header(dead.Headers, DeadLetterHeaders.Error), StringComparison.Ordinal);
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

    // A replicated record's origin, or a trace a writer around the ingress set, was dropped from its dead letter. An old
    // dead letter copied back around the ingress carries wal.* headers: the new dead letter has each once, its own.
    [Theory]
    [InlineData("unreadable")]
    [InlineData("refused at once")]
    [InlineData("retried")]
    [InlineData("delayed, then refused")]
    public async Task DeadLetter_CarriesTheInputsHeadersBeforeItsOwn_AndEachOfItsOwnOnce(string path)
    {
        var input = new Headers
        {
            { "wal.origin.region", "eu-west"u8.ToArray() },
            { "wal.origin.position", "wal.demo/0@7"u8.ToArray() },
            { "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"u8.ToArray() },
            { DeadLetterHeaders.Reason, "retriable"u8.ToArray() },
            { DeadLetterHeaders.Attempts, "8"u8.ToArray() },
            { "wal.mutation.request-id", "m-1"u8.ToArray() },
        };
        var entry = path == "delayed, then refused" ? Later("traced", TimeSpan.FromMilliseconds(500)) : Entry("traced", Start);
        var value = path == "unreadable" ? [0x0A, 0xFF, 0xFF] : entry.ToByteArray();
        if (path == "retried")
        {
            _sink.Otherwise = DeliveryResult.Retriable("connection refused");
        }
        else
        {
            _sink.Then(DeliveryResult.Permanent("key too long"));
        }

        await _log.PipeInputAsync(new Wal.Streams.Record<byte[], byte[]>("traced"u8.ToArray(), value, Start.ToUnixTimeMilliseconds(), input));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        var dead = _deadLetters.ReadRecord();
        Assert.Equal(
            [
                "wal.origin.region", "wal.origin.position", "traceparent",
                DeadLetterHeaders.Error, DeadLetterHeaders.Reason, DeadLetterHeaders.Attempts, DeadLetterHeaders.Namespace,
                DeadLetterHeaders.SourceTopic, DeadLetterHeaders.SourcePartition, DeadLetterHeaders.SourceOffset, DeadLetterHeaders.FailedAtMs,
            ],
            dead.Headers.Select(h => h.Key));
        Assert.Equal("eu-west", Header(dead.Headers, "wal.origin.region"));
        Assert.Equal("wal.demo/0@7", Header(dead.Headers, "wal.origin.position"));
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Header(dead.Headers, "traceparent"));
        Assert.Equal(path == "retried" ? "retriable" : "permanent", Header(dead.Headers, DeadLetterHeaders.Reason));
        Assert.True(_deadLetters.IsEmpty);
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

    // A target carrying unknown fields nested as deep as a top-level parse allows (the ingress keeps a request's
    // unknown fields): the entry parses from the log, but one level deeper, inside a timer's PendingDelivery, it does not.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EntryNestedToTheParseLimit_DelayedOrRetried_DoesNotPoisonTheTimerStore(bool delayed)
    {
        var entry = DeepEntry("deep");
        if (delayed)
        {
            entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };
        }
        else
        {
            _sink.Then(DeliveryResult.Retriable("target down"));
        }

        await PipeAsync(entry);
        await PipeAsync(Later("other", TimeSpan.FromSeconds(1)));

        var thrown = await Record.ExceptionAsync(async () => await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(2)));

        Assert.Null(thrown);
        Assert.Contains(_sink.Calls, c => c.Id == "other");
        Assert.Contains(_sink.Calls, c => c.Id == "deep");
    }

    // No schedule means "deliver as soon as possible"; an accept time ahead of this host's clock (a skewed ingress host)
    // must not hold it back until then.
    [Fact]
    public async Task EntryWithoutASchedule_AcceptedAheadOfThisClock_IsDeliveredAtOnce()
    {
        await PipeAsync(Entry("skewed", Start.AddHours(6)));

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Contains(_sink.Calls, c => c.Id == "skewed");
    }

    // max_delay is one hour; an entry stamped far ahead must not wait longer than now + max_delay.
    [Fact]
    public async Task DelayedEntry_AcceptedFarAheadOfThisClock_WaitsNoLongerThanMaxDelay()
    {
        var entry = Entry("far", Start.AddDays(30));
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };
        await PipeAsync(entry);

        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromHours(1).Add(TimeSpan.FromSeconds(2)));

        Assert.Contains(_sink.Calls, c => c.Id == "far");
    }

    // Small batches, a firing time that allows one timer, retries landing before, at and after the batch's last due time:
    // every entry must still be delivered.
    [Theory]
    [InlineData(1, 1_000)]
    [InlineData(2, 1_000)]
    [InlineData(3, 1)]
    [InlineData(2_000, 1)]
    public async Task SlicedTicks_WithRetries_DeliverEveryEntry(int maxPerTick, int firingMs)
    {
        var sink = new ScriptedSink();
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "sliced",
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1)),
                Multiplier = 1,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(300)),
                MaxAttempts = 50,
                Jitter = 1,
            },
        }]);
        var options = new WalTopologyOptions
        {
            PersistentStores = false,
            TimerTick = TimeSpan.FromMilliseconds(10),
            MaxTimersPerTick = maxPerTick,
            MaxTimerFiringTime = TimeSpan.FromMilliseconds(firingMs),
        };
        using var driver = new TopologyTestDriver(WalTopology.Build(registry, sink, options), initialWallClockTime: Start);
        var log = driver.CreateInputTopic("wal.sliced", Serializers.ByteArray, Serializers.ByteArray);
        var random = new Random(7);
        var attempts = new Dictionary<string, int>();
        sink.WhileDelivering = d =>
        {
            attempts[d.Id] = attempts.GetValueOrDefault(d.Id) + 1;
            if (firingMs == 1)
            {
                var until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 500;
                while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
                {
                }
            }
        };
        for (var i = 0; i < 60; i++)
        {
            sink.Then(random.Next(3) == 0 ? DeliveryResult.Retriable("x") : DeliveryResult.Delivered);
        }

        var ids = Enumerable.Range(0, 40).Select(i => $"e{i:D2}").ToList();
        foreach (var id in ids)
        {
            var entry = Entry(id, Start);
            entry.Namespace = "sliced";
            entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(random.Next(4) * 50)) };
            await log.PipeInputAsync(Encoding.UTF8.GetBytes(id), entry.ToByteArray());
        }

        for (var i = 0; i < 400 && driver.GetKeyValueStore(WalTopology.TimerStoreName("sliced")).ApproximateCount > 0; i++)
        {
            await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(0, driver.GetKeyValueStore(WalTopology.TimerStoreName("sliced")).ApproximateCount);
        Assert.Equal(ids, sink.Calls.Select(c => c.Id).Distinct().Order(StringComparer.Ordinal));
    }

    // A tick parses its due timers before it fires any: with entries near the record limit a count of 2,000 alone let
    // one tick hold about 2 GB. The bytes bound leaves the rest due for the next tick.
    [Fact]
    public async Task Tick_LargeEntriesDue_FiresNoMoreThanTheBytesBoundAndTheRestNextTick()
    {
        var sink = new ScriptedSink();
        var registry = new NamespaceRegistry([new NamespaceConfig { Name = "large" }]);
        var options = new WalTopologyOptions { PersistentStores = false, TimerTick = TimeSpan.FromMilliseconds(100), MaxTimerBytesPerTick = 1_000_000 };
        using var driver = new TopologyTestDriver(WalTopology.Build(registry, sink, options), initialWallClockTime: Start);
        var log = driver.CreateInputTopic("wal.large", Serializers.ByteArray, Serializers.ByteArray);
        for (var i = 0; i < 8; i++)
        {
            var entry = Later($"large-{i}", TimeSpan.FromSeconds(1));
            entry.Namespace = "large";
            entry.Payload = ByteString.CopyFrom(new byte[300_000]);
            await log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        }

        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(900));
        Assert.Empty(sink.Calls);
        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        // The fourth timer crosses 1,000,000 bytes; it is the last one taken.
        Assert.Equal(4, sink.Calls.Count);
        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));

        Assert.Equal(8, sink.Calls.Count);
        Assert.Equal(8, sink.Calls.Select(c => c.Id).Distinct().Count());
        Assert.Equal(0, driver.GetKeyValueStore(WalTopology.TimerStoreName("large")).ApproximateCount);
    }

    private static LogEntry DeepEntry(string id)
    {
        var entry = Entry(id, Start);
        // Depth such that the entry parses at top level; found by probing.
        for (var depth = 120; depth > 0; depth--)
        {
            try
            {
                var candidate = entry.Clone();
                candidate.Target = Target.Parser.ParseFrom(Groups(depth, Entry("x", Start).Target.ToByteArray()));
                LogEntry.Parser.ParseFrom(new ReadOnlySpan<byte>(candidate.ToByteArray()));
                return candidate;
            }
            catch (InvalidProtocolBufferException)
            {
            }
        }

        throw new InvalidOperationException("no depth parses");
    }

    private static byte[] Groups(int depth, byte[] tail)
    {
        var start = WireFormat.MakeTag(15, WireFormat.WireType.StartGroup);
        var end = WireFormat.MakeTag(15, WireFormat.WireType.EndGroup);
        return [.. tail, .. Enumerable.Repeat((byte)start, depth), .. Enumerable.Repeat((byte)end, depth)];
    }

    // For each prefix of writes from firstKept of them on (after all of before), what DeliveredOnceAfterRestoreAsync
    // found wrong, naming the prefix: a crash keeps any prefix of the changelog's writes.
    private async Task<List<string>> ProblemsAfterEachPrefixAsync(
        List<Wal.Streams.Record<byte[], byte[]>> writes, int firstKept, LogEntry? readAgain, IEnumerable<Wal.Streams.Record<byte[], byte[]>>? before = null)
    {
        var problems = new List<string>();
        for (var kept = firstKept; kept <= writes.Count; kept++)
        {
            if (await DeliveredOnceAfterRestoreAsync((before ?? []).Concat(writes.Take(kept)), readAgain) is { } problem)
            {
                problems.Add($"kept {kept}/{writes.Count}: {problem}");
            }
        }

        return problems;
    }

    // Restores the timer store from writes, reads the entry's input again when given (as after a crash before its
    // commit), and runs the punctuator for 30 s against a target that delivers once and refuses every attempt after:
    // null when the entry was attempted once, nothing dead-lettered and nothing left in the store, else what was wrong.
    private async Task<string?> DeliveredOnceAfterRestoreAsync(IEnumerable<Wal.Streams.Record<byte[], byte[]>> writes, LogEntry? readAgain)
    {
        var sink = new ScriptedSink { Otherwise = DeliveryResult.Permanent("already there") }.Then(DeliveryResult.Delivered);
        using var restored = Driver(sink, _driver.WallClockTime.AddMilliseconds(50));
        var timers = restored.GetKeyValueStore(WalTopology.TimerStoreName("demo"));
        ChangelogReplica.Replay(timers, writes);
        if (readAgain is not null)
        {
            await restored.CreateInputTopic("wal.demo", Serializers.ByteArray, Serializers.ByteArray).PipeInputAsync(Encoding.UTF8.GetBytes(readAgain.Id), readAgain.ToByteArray());
        }

        for (var i = 0; i < 30; i++)
        {
            await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        }

        var deadLetters = restored.CreateOutputTopic("wal.demo.dlq", Deserializers.ByteArray, Deserializers.ByteArray).ReadRecordsToList().Count;
        return sink.Calls.Count == 1 && deadLetters == 0 && timers.ApproximateCount == 0
            ? null
            : $"{sink.Calls.Count} attempts, {deadLetters} dead letters, {timers.ApproximateCount} left";
    }

    // The first timer the previous version stored for entry, the first record of wal.demo: keyed by due time and id only.
    private static void PutPreviousVersionsTimer(TopologyTestDriver driver, LogEntry entry, long dueAtMs)
    {
        var pending = new Wal.Topology.State.PendingDelivery { FirstAttemptMs = entry.AcceptedAtMs, SourceTopic = "wal.demo", SourcePartition = 0, SourceOffset = 0 };
        driver.GetKeyValueStore(WalTopology.TimerStoreName("demo")).Put(DueKey.Encode(dueAtMs, entry.Id), TimerValue.Compose(entry.ToByteArray(), pending));
    }

    private async Task PipeAsync(LogEntry entry) =>
        await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());

    private static LogEntry Later(string id, TimeSpan delay)
    {
        var entry = Entry(id, Start);
        entry.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(delay) };
        return entry;
    }

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
