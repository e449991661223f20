using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams.TestDriver;
using Wal.Topology.Delay;

namespace Wal.Topology.Tests;

/// <summary>
/// Entries of one Kafka record key reach the target in the order they came due, also when one of them needs a retry:
/// the later ones wait behind it. Before, a retried record was appended after the later records of its key.
/// </summary>
public sealed class KafkaKeyOrderTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly string Store = WalTopology.TimerStoreName("orders");
    private readonly ScriptedSink _sink = new();
    private readonly TopologyTestDriver _driver;
    private readonly TestInputTopic<byte[], byte[]> _log;
    private readonly TestOutputTopic<byte[], byte[]> _deadLetters;
    private readonly Dictionary<string, int> _failuresLeft = [];

    public KafkaKeyOrderTests()
    {
        _sink.AnswerBy = d =>
        {
            if (_failuresLeft.TryGetValue(d.Id, out var left) && left > 0)
            {
                _failuresLeft[d.Id] = left - 1;
                return DeliveryResult.Retriable($"{d.Id}: target down");
            }

            return DeliveryResult.Delivered;
        };
        _driver = Driver(_sink, Start, TimeSpan.FromSeconds(1));
        _log = _driver.CreateInputTopic("wal.orders", Serializers.ByteArray, Serializers.ByteArray);
        _deadLetters = _driver.CreateOutputTopic("wal.orders.dlq", Deserializers.ByteArray, Deserializers.ByteArray);
    }

    public void Dispose() => _driver.Dispose();

    [Fact]
    public async Task EntryRetried_LaterEntriesOfItsKeyWaitBehindIt_OtherKeysDoNot()
    {
        FailTimes("a1", 2);

        await PipeAsync(Entry("a1", "a"), Entry("a2", "a"), Entry("b1", "b"), Entry("a3", "a"));

        // b has no entry being retried; a2 and a3 wait for a1.
        Assert.Equal(["a1", "b1"], Delivered());
        await RunUntilEmptyAsync();

        Assert.Equal(["a1", "b1", "a1", "a1", "a2", "a3"], Delivered());
        Assert.True(_deadLetters.IsEmpty);
    }

    [Fact]
    public async Task HeadDeadLettered_TheEntriesWaitingBehindItGoOnInOrder()
    {
        FailTimes("a1", int.MaxValue);

        await PipeAsync(Entry("a1", "a"), Entry("a2", "a"), Entry("a3", "a"));
        await RunUntilEmptyAsync();

        Assert.Equal(["a1", "a1", "a1", "a2", "a3"], Delivered());
        Assert.Equal("a1", Encoding.UTF8.GetString(Assert.Single(_deadLetters.ReadRecordsToList()).Key));
    }

    [Fact]
    public async Task WaitingEntryFailsWhenLetGo_ItHoldsTheKeyForTheRest()
    {
        FailTimes("a1", 1);
        FailTimes("a2", 1);

        await PipeAsync(Entry("a1", "a"), Entry("a2", "a"), Entry("a3", "a"));
        await RunUntilEmptyAsync();

        Assert.Equal(["a1", "a1", "a2", "a2", "a3"], Delivered());
    }

    // docs/metrics.md tells an operator how to read the timer store's entries as the delay queue's depth.
    [Fact]
    public async Task EntryWaitingBehindARetry_CountsInTheTimerStoreAsDocsMetricsSays()
    {
        FailTimes("a1", 1);

        await PipeAsync(Entry("a1", "a"), Entry("a2", "a"));

        // a1's retry: its timer and its chain's marker; the key's hold; a2 waiting: its record and its marker.
        Assert.Equal(2 + 1 + 2, _driver.GetKeyValueStore(Store).ApproximateCount);
    }

    [Fact]
    public async Task DelayedEntryOfAHeldKey_WaitsWhenItComesDue()
    {
        // Retries at +100 ms and +300 ms (backoff 100 ms, doubling); the delayed entry is due between them.
        FailTimes("a1", 2);
        var delayed = Entry("a2", "a");
        delayed.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200)) };

        await PipeAsync(Entry("a1", "a"), delayed);
        await RunUntilEmptyAsync();

        Assert.Equal(["a1", "a1", "a1", "a2"], Delivered());
    }

    [Fact]
    public async Task KafkaTargetWithoutAKey_OrMemcached_IsNotHeld()
    {
        FailTimes("k1", 1);
        FailTimes("m1", 1);

        await PipeAsync(Entry("k1", key: null), Entry("k2", key: null));
        var memcached = Entry("m1", null);
        memcached.Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "same" } };
        var memcachedLater = memcached.Clone();
        memcachedLater.Id = "m2";
        await PipeAsync(memcached, memcachedLater);

        Assert.Equal(["k1", "k2", "m1", "m2"], Delivered());
        await RunUntilEmptyAsync();
    }

    [Fact]
    public async Task SameKeyOnAnotherTopicOrCluster_IsAnotherKey()
    {
        FailTimes("a1", 1);
        var otherTopic = Entry("t1", "a");
        otherTopic.Target.Kafka.Topic = "other";
        var otherCluster = Entry("c1", "a");
        otherCluster.Target.Kafka.Cluster = "us-west";

        await PipeAsync(Entry("a1", "a"), otherTopic, otherCluster);

        Assert.Equal(["a1", "t1", "c1"], Delivered());
    }

    [Fact]
    public async Task LongQueue_LetGoOverSeveralTicks_KeepsItsOrder()
    {
        // A firing time that allows one delivery: the queue is let go one head at a time, each due at once.
        var sink = new ScriptedSink();
        var failed = false;
        sink.AnswerBy = d =>
        {
            var spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + (System.Diagnostics.Stopwatch.Frequency / 500);
            while (System.Diagnostics.Stopwatch.GetTimestamp() < spinUntil)
            {
            }

            if (d.Id == "q00" && !failed)
            {
                failed = true;
                return DeliveryResult.Retriable("target down");
            }

            return DeliveryResult.Delivered;
        };
        using var driver = Driver(sink, Start, TimeSpan.FromMilliseconds(1));
        var log = driver.CreateInputTopic("wal.orders", Serializers.ByteArray, Serializers.ByteArray);
        var ids = Enumerable.Range(0, 12).Select(i => $"q{i:D2}").ToList();
        foreach (var id in ids)
        {
            var entry = Entry(id, "a");
            await log.PipeInputAsync(Encoding.UTF8.GetBytes(id), entry.ToByteArray());
        }

        for (var i = 0; i < 200 && driver.GetKeyValueStore(Store).ApproximateCount > 0; i++)
        {
            await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(0, driver.GetKeyValueStore(Store).ApproximateCount);
        Assert.Equal(["q00", .. ids], sink.Calls.Select(c => c.Id));
    }

    // A crash keeps a prefix of the timer store's changelog writes. Restored from any prefix of the writes made while a
    // queue was let go (the head delivered, then the next entry failing and taking the hold over, or, past the firing
    // time, made the head due at once), no entry is lost, the key is never left held with nothing to let it go, each
    // entry's first delivery keeps its order, and none is attempted twice.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LettingGo_RestoredFromAnyPrefixOfItsWrites_LosesNothingAndKeepsOrder(bool pastTheFiringTime)
    {
        var firingTime = pastTheFiringTime ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromSeconds(1);
        var failuresLeft = new Dictionary<string, int> { ["a1"] = 1, ["a2"] = pastTheFiringTime ? 0 : 1 };
        var sink = new ScriptedSink { AnswerBy = d => FailOrDeliver(failuresLeft, d, pastTheFiringTime) };
        using var driver = Driver(sink, Start, firingTime);
        var log = driver.CreateInputTopic("wal.orders", Serializers.ByteArray, Serializers.ByteArray);
        var changelog = driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        string[] ids = ["a1", "a2", "a3", "a4"];
        foreach (var id in ids)
        {
            await log.PipeInputAsync(Encoding.UTF8.GetBytes(id), Entry(id, "a").ToByteArray());
        }

        var before = changelog.ReadRecordsToList();
        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        // Either a2 failed and holds the key, or a2 went and a3 was made the head past the firing time.
        Assert.Equal(["a1", "a1", "a2"], sink.Calls.Select(c => c.Id));
        var lettingGo = changelog.ReadRecordsToList();
        Assert.True(lettingGo.Count >= 5, $"{lettingGo.Count} writes");

        for (var kept = 0; kept <= lettingGo.Count; kept++)
        {
            var after = new ScriptedSink();
            using var restored = Driver(after, driver.WallClockTime.AddMilliseconds(50), firingTime);
            var timers = restored.GetKeyValueStore(Store);
            ChangelogReplica.Replay(timers, before.Concat(lettingGo.Take(kept)));

            for (var i = 0; i < 30 && timers.ApproximateCount > 0; i++)
            {
                await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
            }

            var calls = after.Calls.Select(c => c.Id).ToList();
            var crash = $"after a crash that kept {kept} of {lettingGo.Count} writes: {string.Join(",", calls)}";
            Assert.True(timers.ApproximateCount == 0, $"{timers.ApproximateCount} records left {crash}");
            // a1 was delivered before the crash, and a2 too past the firing time; what was not must go now, in order.
            var due = pastTheFiringTime ? ids[2..] : ids[1..];
            Assert.True(due.All(calls.Contains), crash);
            var firsts = due.Select(id => calls.IndexOf(id)).ToList();
            Assert.True(firsts.SequenceEqual(firsts.Order()), crash);
            // A repeat of what the crash did not record as done, but no entry twice: a second attempt of an entry
            // delivered after the restore could fail, and start a retry chain that ends in a dead letter.
            Assert.True(calls.Count == calls.Distinct().Count(), crash);
        }
    }

    // A crash keeps a prefix of the timer store's changelog writes, and the inputs not yet committed are processed again,
    // before or after the timers restored fire. Restored from any prefix of the writes of a first failure and of two
    // entries queued behind it, every entry is delivered, in order, and nothing is left in the store.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Queueing_RestoredFromAnyPrefixOfItsWrites_InputsProcessedAgain_LosesNothingAndLeavesNothing(bool timersFireFirst)
    {
        FailTimes("a1", 1);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        LogEntry[] entries = [Entry("a1", "a"), Entry("a2", "a"), Entry("a3", "a")];
        await PipeAsync(entries);
        var writes = changelog.ReadRecordsToList();
        Assert.True(writes.Count >= 7, $"{writes.Count} writes");

        for (var kept = 0; kept <= writes.Count; kept++)
        {
            var sink = new ScriptedSink();
            using var restored = Restored(sink, writes.Take(kept));
            if (timersFireFirst)
            {
                await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
            }

            await PipeAgainAsync(restored, entries);
            var timers = restored.GetKeyValueStore(Store);
            for (var i = 0; i < 30 && timers.ApproximateCount > 0; i++)
            {
                await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
            }

            var calls = sink.Calls.Select(c => c.Id).ToList();
            var crash = $"after a crash that kept {kept} of {writes.Count} writes: {string.Join(",", calls)}";
            Assert.True(timers.ApproximateCount == 0, $"{timers.ApproximateCount} records left {crash}");
            var firsts = entries.Select(e => calls.IndexOf(e.Id)).ToList();
            Assert.True(firsts.All(i => i >= 0) && firsts.SequenceEqual(firsts.Order()), crash);
        }
    }

    // Inputs processed again after a crash queue an entry that still waits a second time. Its first copy then fails and
    // holds the key; when that copy's chain ends, the second is the head's own record, already delivered, not a new head
    // whose delivery lets the queue go once more from inside the release.
    [Fact]
    public async Task EntryQueuedTwiceByACrash_ItsFirstCopyHoldsTheKey_TheSecondIsNotDeliveredOverAndOver()
    {
        FailTimes("a1", 1);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        LogEntry[] entries = [Entry("a1", "a"), Entry("a2", "a")];
        await PipeAsync(entries);
        var writes = changelog.ReadRecordsToList();

        // a1 fails again when its input is processed again, so a2 is queued behind it a second time; a2 fails when let
        // go. A target that refuses a2 from its tenth copy on stops a release that would never end.
        var calls = new Dictionary<string, int>();
        var sink = new ScriptedSink
        {
            AnswerBy = d => (calls[d.Id] = calls.GetValueOrDefault(d.Id) + 1) switch
            {
                1 or >= 10 => DeliveryResult.Retriable("target down"),
                _ => DeliveryResult.Delivered,
            },
        };
        using var restored = Restored(sink, writes);
        await PipeAgainAsync(restored, entries);
        var timers = restored.GetKeyValueStore(Store);
        for (var i = 0; i < 30 && timers.ApproximateCount > 0; i++)
        {
            await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        }

        // a2: its failed first attempt, then its retry; its second copy is dropped with the chain it repeats.
        Assert.Equal(2, calls["a2"]);
        Assert.Equal(0, timers.ApproximateCount);
    }

    // Restored from any prefix of the writes made while a dead-lettered head lets its queue go, the waiting entries still
    // go out in order, the head is dead-lettered (again, if the crash came before its timer's delete), and nothing is left.
    [Fact]
    public async Task HeadDeadLettered_RestoredFromAnyPrefixOfItsReleaseWrites_LosesNothingAndLeavesNothing()
    {
        FailTimes("a1", int.MaxValue);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        await PipeAsync(Entry("a1", "a"), Entry("a2", "a"), Entry("a3", "a"));
        var before = changelog.ReadRecordsToList();
        var releaseWrites = new List<Wal.Streams.Record<byte[], byte[]>>();
        for (var i = 0; i < 20 && _deadLetters.IsEmpty; i++)
        {
            before.AddRange(releaseWrites);
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
            releaseWrites = changelog.ReadRecordsToList();
        }

        Assert.Equal(["a1", "a1", "a1", "a2", "a3"], Delivered());
        Assert.True(releaseWrites.Count >= 5, $"{releaseWrites.Count} writes");

        for (var kept = 0; kept <= releaseWrites.Count; kept++)
        {
            var sink = new ScriptedSink { AnswerBy = d => d.Id == "a1" ? DeliveryResult.Retriable("target down") : DeliveryResult.Delivered };
            using var restored = Restored(sink, before.Concat(releaseWrites.Take(kept)));
            var timers = restored.GetKeyValueStore(Store);
            for (var i = 0; i < 30 && timers.ApproximateCount > 0; i++)
            {
                await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
            }

            var calls = sink.Calls.Select(c => c.Id).ToList();
            var crash = $"after a crash that kept {kept} of {releaseWrites.Count} writes: {string.Join(",", calls)}";
            Assert.True(timers.ApproximateCount == 0, $"{timers.ApproximateCount} records left {crash}");
            var a1Again = calls.Contains("a1");
            var deadLetters = restored.CreateOutputTopic("wal.orders.dlq", Deserializers.ByteArray, Deserializers.ByteArray).ReadRecordsToList();
            Assert.True(deadLetters.Count == (a1Again ? 1 : 0), $"{deadLetters.Count} dead letters {crash}");
            // A waiting entry whose record's delete the crash did not keep goes out again, in order, after the head's repeat.
            var gone = releaseWrites.Take(kept).Count(w => w.Value is null && HoldKey.IsWaiting(w.Key));
            string[] waiting = ["a2", "a3"];
            Assert.True(calls.Where(id => id != "a1").SequenceEqual(waiting[gone..]), crash);
        }
    }

    // A delayed entry's first attempt fails when its timer fires. Restored from any prefix of that attempt's writes, an
    // entry of its key that comes after the crash waits behind its retry: a prefix with the retry's timer and its chain's
    // marker but not the key's hold let the later entry go first, since the fired timer was then dropped as superseded.
    [Fact]
    public async Task DelayedEntryFailsWhenItFires_RestoredFromAnyPrefixOfItsWrites_ALaterEntryOfItsKeyStillWaits()
    {
        var backoff = TimeSpan.FromSeconds(10);
        var sink = new ScriptedSink { AnswerBy = _ => DeliveryResult.Retriable("target down") };
        using var driver = Driver(sink, Start, TimeSpan.FromSeconds(1), backoff);
        var log = driver.CreateInputTopic("wal.orders", Serializers.ByteArray, Serializers.ByteArray);
        var changelog = driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        var delayed = Entry("a1", "a");
        delayed.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) };
        await log.PipeInputAsync(Encoding.UTF8.GetBytes(delayed.Id), delayed.ToByteArray());
        var scheduled = changelog.ReadRecordsToList();
        await driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(["a1"], sink.Calls.Select(c => c.Id));
        var attempt = changelog.ReadRecordsToList();

        for (var kept = 0; kept <= attempt.Count; kept++)
        {
            var after = new ScriptedSink();
            using var restored = Restored(Driver(after, driver.WallClockTime.AddMilliseconds(50), TimeSpan.FromSeconds(1), backoff), scheduled.Concat(attempt.Take(kept)));
            // A commit may come before a1's timer fires; here one did, and a1's input is not read again. The new
            // driver's offsets start at 0 again: an entry for memcached takes a1's, so that a2 has a position of its
            // own. The timer, if kept, fires before a2 comes, and a2 comes before the retry.
            var filler = Entry("m0", null);
            filler.Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "m0" } };
            await PipeAgainAsync(restored, [filler]);
            await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
            var log2 = restored.CreateInputTopic("wal.orders", Serializers.ByteArray, Serializers.ByteArray);
            await log2.PipeInputAsync("a2"u8.ToArray(), Entry("a2", "a").ToByteArray());
            var timers = restored.GetKeyValueStore(Store);
            for (var i = 0; i < 30 && timers.ApproximateCount > 0; i++)
            {
                await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
            }

            var calls = after.Calls.Select(c => c.Id).ToList();
            var crash = $"after a crash that kept {kept} of {attempt.Count} writes: {string.Join(",", calls)}";
            Assert.True(calls.Contains("a1") && calls.IndexOf("a1") < calls.IndexOf("a2"), crash);
            Assert.True(timers.ApproximateCount == 0, $"{timers.ApproximateCount} records left {crash}");
        }
    }

    // The head's input processed again after a crash is delivered at once, while its retry's timer is still stored. Had
    // that delivery let the queue go, the timer's repeat of the head would land after the later entries, and a
    // compacted topic would keep the oldest value of the key. Only the chain's own timer lets the queue go.
    [Fact]
    public async Task HeadProcessedAgainAfterACrash_ItsRepeatLandsBeforeTheEntriesWaitingBehindIt()
    {
        FailTimes("a1", 1);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        LogEntry[] entries = [Entry("a1", "a"), Entry("a2", "a"), Entry("a3", "a")];
        await PipeAsync(entries);
        var writes = changelog.ReadRecordsToList();

        var (calls, left) = await RunRestoredAsync(writes, entries);
        Assert.True(calls.LastIndexOf("a1") < calls.IndexOf("a2"), string.Join(",", calls));
        Assert.Equal("a3", calls[^1]);
        Assert.Equal(0, left);
    }

    // The head's first retry fires 100 ms after its failure, long before its input is committed. A crash that kept the
    // second retry's marker and not its timer leaves the first retry's timer stored: the head's input read again took
    // the marker naming no timer for a sign that it carried the chain on, was delivered, let the queue go, and the
    // timer then delivered the head again after the entries let go, the key's oldest value last.
    [Fact]
    public async Task HeadsInputReadAgain_AfterItsFirstRetryFailed_IsNotRepeatedAfterTheQueue()
    {
        FailTimes("a1", 2);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        LogEntry[] entries = [Entry("a1", "a"), Entry("a2", "a")];
        await PipeAsync(entries);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        Assert.Equal(["a1", "a1"], Delivered());
        var writes = changelog.ReadRecordsToList();

        var failures = await OrderProblemsAfterEachPrefixAsync(
            writes, firstKept: 0, entries, calls => calls.LastIndexOf("a1") > calls.IndexOf("a2") || calls.Count != calls.Distinct().Count());
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    // Entries queue behind a head long before their inputs are committed. Read again after a crash, they were queued a
    // second time, since nothing told that they waited already, and the release let each copy go: each was delivered
    // twice after the restore, and a refused repeat could dead-letter a delivered entry.
    [Fact]
    public async Task QueuedEntriesReadAgain_AfterACrash_AreEachDeliveredOnce()
    {
        FailTimes("a1", 1);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        LogEntry[] entries = [Entry("a1", "a"), Entry("a2", "a"), Entry("a3", "a")];
        await PipeAsync(entries);
        var writes = changelog.ReadRecordsToList();

        var (calls, left) = await RunRestoredAsync(writes, entries);
        Assert.True(calls.Count == calls.Distinct().Count(), string.Join(",", calls));
        Assert.Equal(0, left);
    }

    // A delayed head fails when its timer fires, and a later entry of its key queues behind it, both before their
    // inputs are committed. A crash that kept the marker and the hold but not the retry's timer leaves the head's first
    // timer stored: the head's input read again, due now, was attempted as the chain's only carrier and let the key go,
    // the later entry went, and the first timer then delivered the head again, the key's oldest value last.
    [Fact]
    public async Task DelayedHeadReadAgain_AfterItFailedWhenItFired_IsNotRepeatedAfterTheLaterEntry()
    {
        FailTimes("a1", 1);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        var delayed = Entry("a1", "a");
        delayed.Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)) };
        await PipeAsync(delayed);
        await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        await PipeAsync(Entry("a2", "a"));
        Assert.Equal(["a1"], Delivered());
        var writes = changelog.ReadRecordsToList();

        var failures = await OrderProblemsAfterEachPrefixAsync(writes, firstKept: 1, [delayed, Entry("a2", "a")], calls => calls.LastIndexOf("a1") > calls.IndexOf("a2"));
        Assert.True(failures.Count == 0, string.Join("; ", failures));
    }

    // A store written by an older version, which saved a failed first attempt as retry timer, hold, then marker: a crash
    // that kept the timer and the hold leaves a head with no marker. Its input read again is delivered, and had that let
    // the key go, the later entry went and the retry's timer repeated the head after it. Only the chain's carrier
    // lets the key go.
    [Fact]
    public async Task StoreOfTheOlderOrder_TimerAndHoldKept_HeadIsNotRepeatedAfterTheLaterEntry()
    {
        FailTimes("a1", 1);
        var changelog = _driver.CreateOutputTopic($"test-driver-{Store}-changelog", Deserializers.ByteArray, Deserializers.ByteArray);
        await PipeAsync(Entry("a1", "a"));
        var writes = changelog.ReadRecordsToList();
        var timer = writes.Single(w => !ChainKey.IsMarker(w.Key) && !HoldKey.IsHold(w.Key));
        var hold = writes.Single(w => HoldKey.IsHold(w.Key));

        var (calls, left) = await RunRestoredAsync([timer, hold], [Entry("a1", "a"), Entry("a2", "a")]);
        Assert.True(calls.LastIndexOf("a1") < calls.IndexOf("a2"), string.Join(",", calls));
        Assert.Equal(0, left);
    }

    // For each prefix of writes from firstKept of them on: the deliveries after the restore, named with the prefix, when
    // wrong says they are wrong or the store is not left empty.
    private async Task<List<string>> OrderProblemsAfterEachPrefixAsync(
        List<Wal.Streams.Record<byte[], byte[]>> writes, int firstKept, IEnumerable<LogEntry> readAgain, Func<List<string>, bool> wrong)
    {
        var failures = new List<string>();
        for (var kept = firstKept; kept <= writes.Count; kept++)
        {
            var (calls, left) = await RunRestoredAsync(writes.Take(kept), readAgain);
            if (wrong(calls) || left != 0)
            {
                failures.Add($"kept {kept}/{writes.Count}: {string.Join(",", calls)} ({left} left)");
            }
        }

        return failures;
    }

    // Restores the timer store from writes, reads the entries' inputs again (as after a crash before their commit), and
    // fires timers until the store is empty or 30 s have passed: the ids delivered, in order, and the records left.
    private async Task<(List<string> Calls, long Left)> RunRestoredAsync(IEnumerable<Wal.Streams.Record<byte[], byte[]>> writes, IEnumerable<LogEntry> readAgain)
    {
        var sink = new ScriptedSink();
        using var restored = Restored(sink, writes);
        await PipeAgainAsync(restored, readAgain);
        var timers = restored.GetKeyValueStore(Store);
        for (var i = 0; i < 30 && timers.ApproximateCount > 0; i++)
        {
            await restored.AdvanceWallClockTimeAsync(TimeSpan.FromSeconds(1));
        }

        return ([.. sink.Calls.Select(c => c.Id)], timers.ApproximateCount);
    }

    private TopologyTestDriver Restored(ISink sink, IEnumerable<Wal.Streams.Record<byte[], byte[]>> writes) =>
        Restored(Driver(sink, _driver.WallClockTime.AddMilliseconds(50), TimeSpan.FromSeconds(1)), writes);

    private static TopologyTestDriver Restored(TopologyTestDriver restored, IEnumerable<Wal.Streams.Record<byte[], byte[]>> writes)
    {
        var timers = restored.GetKeyValueStore(Store);
        foreach (var write in writes)
        {
            if (write.Value is null)
            {
                timers.Delete(write.Key);
            }
            else
            {
                timers.Put(write.Key, write.Value);
            }
        }

        return restored;
    }

    // A new driver's input starts at offset 0: the entries take the positions they had, as when processed again.
    private static async Task PipeAgainAsync(TopologyTestDriver driver, IEnumerable<LogEntry> entries)
    {
        var log = driver.CreateInputTopic("wal.orders", Serializers.ByteArray, Serializers.ByteArray);
        foreach (var entry in entries)
        {
            await log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        }
    }

    private static DeliveryResult FailOrDeliver(Dictionary<string, int> failuresLeft, Sinks.Delivery delivery, bool slow)
    {
        if (slow)
        {
            // Past a firing time of 1 ms after one delivery.
            var until = System.Diagnostics.Stopwatch.GetTimestamp() + (System.Diagnostics.Stopwatch.Frequency / 500);
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
            }
        }

        if (failuresLeft.GetValueOrDefault(delivery.Id) > 0)
        {
            failuresLeft[delivery.Id]--;
            return DeliveryResult.Retriable("target down");
        }

        return DeliveryResult.Delivered;
    }

    private void FailTimes(string id, int times) => _failuresLeft[id] = times;

    private List<string> Delivered() => [.. _sink.Calls.Select(c => c.Id)];

    private async Task PipeAsync(params LogEntry[] entries)
    {
        foreach (var entry in entries)
        {
            await _log.PipeInputAsync(Encoding.UTF8.GetBytes(entry.Id), entry.ToByteArray());
        }
    }

    private async Task RunUntilEmptyAsync()
    {
        for (var i = 0; i < 100 && _driver.GetKeyValueStore(Store).ApproximateCount > 0; i++)
        {
            await _driver.AdvanceWallClockTimeAsync(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(0, _driver.GetKeyValueStore(Store).ApproximateCount);
    }

    private static TopologyTestDriver Driver(ISink sink, DateTimeOffset now, TimeSpan maxFiringTime, TimeSpan? initialBackoff = null)
    {
        var registry = new NamespaceRegistry([new NamespaceConfig
        {
            Name = "orders",
            Retry = new RetryPolicy
            {
                InitialBackoff = Duration.FromTimeSpan(initialBackoff ?? TimeSpan.FromMilliseconds(100)),
                Multiplier = 2,
                MaxBackoff = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                MaxAttempts = 3,
            },
        }]);
        var options = new WalTopologyOptions { PersistentStores = false, TimerTick = TimeSpan.FromMilliseconds(100), MaxTimerFiringTime = maxFiringTime };
        return new TopologyTestDriver(WalTopology.Build(registry, sink, options), initialWallClockTime: now);
    }

    private static LogEntry Entry(string id, string? key) => new()
    {
        Id = id,
        Namespace = "orders",
        AcceptedAtMs = Start.ToUnixTimeMilliseconds(),
        Payload = ByteString.CopyFromUtf8("v-" + id),
        Target = new Target
        {
            Kafka = new KafkaTarget { Topic = "orders-out", Key = key is null ? ByteString.Empty : ByteString.CopyFromUtf8(key) },
        },
    };
}
