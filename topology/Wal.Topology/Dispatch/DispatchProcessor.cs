using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Wal.Streams.State;
using Wal.Topology.Delay;
using Wal.Topology.Retry;
using Wal.Topology.State;

namespace Wal.Topology.Dispatch;

/// <summary>
/// Delivers a namespace's entries to their targets. Entries not yet due, and failed deliveries
/// waiting for their next attempt, wait in one timer store keyed by due time; a wall-clock
/// punctuator fires them. After the last attempt, or on a permanent error, an entry goes to the
/// namespace's dead-letter topic with the reason in its headers. Entries of one Kafka record key that come due while an
/// earlier one of the key waits for its retry wait behind it, in the same store (<see cref="HoldKey"/>), so the key's
/// records reach the target in order.
/// </summary>
/// <remarks>
/// At least once: a fired timer stays in the store until its attempt has an outcome, and is deleted only after the
/// retry's timer is put (or the dead letter forwarded). The store is the entry's only sure copy: its input is committed
/// at the commit interval, perhaps long before its timer fires, so a restore after a crash reads the changelog to its
/// end, and a timer deleted before its delivery finished would be lost with the crash. Input not yet committed is read
/// again, so a record may come twice: once from the store, once from its input. The idempotent producer keeps the
/// changelog's writes in order, so a crash keeps a prefix of them. A repeat attempt is harmless: sinks are idempotent.
/// Two chains of retries are not, nor a repeat after the restore's own delivery (refused, it began a second chain that
/// could end in a dead letter for a delivered entry). So each record's chain has one marker (<see cref="ChainKey"/>)
/// naming its one carrier, a timer or a place in its key's queue, and the carrier it replaces
/// (<see cref="MarkerValue"/>): the marker is saved before its carrier and deleted before it, so a crash leaves no
/// second carrier beside the one the marker names: only a marker naming one not stored (the carrier it replaces, or
/// the attempt made again, carries the chain on), or, at the chain's end, its last carrier with no marker, which
/// repeats its delivery. A timer the marker does not name is dropped when it fires, and a record read again whose
/// carrier is stored is not attempted again (<see cref="ChainOf"/>). Entries of a Kafka record key wait behind one of
/// them being retried (<see cref="HoldKey"/>): its hold names that entry's chain, and only the chain's end lets the
/// waiting ones go.
/// Not covered: once a chain has ended (its marker deleted), nothing is left to tell its record's input read again
/// from a new one. A restore whose timer delivered the record before its uncommitted input came back attempts it once
/// more (and retries that attempt if it fails); and a head delivered before a crash, read again behind a later entry
/// that holds its key, lands after it. Both need the input to be uncommitted at the crash (the commit interval bounds
/// that), and the second is the repeat after later records docs/sinks.md tells Kafka consumers to compare versions for.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The engine ends a processor's life with Close(), which disposes the timeout source.")]
public sealed partial class DispatchProcessor : Processor<byte[], byte[], byte[], byte[]>
{
    private readonly string _namespace;
    private readonly INamespaceRegistry _registry;
    private readonly ISink _sink;
    private readonly WalTopologyOptions _options;
    private readonly string _timerStoreName;
    private readonly ILogger _logger;
    private readonly TopologyMetrics _metrics;
    private IKeyValueStore? _timers;

    // No timer in the store is due before this (ms). Each tick scans from here, not from the store's
    // first key: fired timers leave tombstones at the front of the key space until compaction, and a
    // scan from the start steps over every one of them on every tick, a cost that grew with each
    // timer fired. Lowered by any put below it, raised after a scan; 0 after Init (restored timers).
    private long _lowestDueMs;

    // One per processor, reset after each delivery: a new source per call registered a new timer
    // for every fired timer, a measurable cost at tens of thousands of deliveries a second.
    private CancellationTokenSource _timeout = new();

    public DispatchProcessor(
        string namespaceName, string timerStoreName, INamespaceRegistry registry, ISink sink, WalTopologyOptions options, ILogger logger, TopologyMetrics? metrics = null)
    {
        _namespace = namespaceName;
        _timerStoreName = timerStoreName;
        _registry = registry;
        _sink = sink;
        _options = options;
        _logger = logger;
        _metrics = metrics ?? TopologyMetrics.Shared;
    }

    private IKeyValueStore Timers => _timers ?? throw new InvalidOperationException("Init has not run.");

    public override void Init(IProcessorContext<byte[], byte[]> context)
    {
        base.Init(context);
        _timers = context.GetStateStore<IKeyValueStore>(_timerStoreName);
        context.Schedule(_options.TimerTick, PunctuationType.WallClockTime, FireDueTimersAsync);
    }

    public override async ValueTask ProcessAsync(Record<byte[], byte[]> record)
    {
        LogEntry entry;
        try
        {
            // The span overload parses in a ref struct; the byte[] one allocates a CodedInputStream per record.
            entry = LogEntry.Parser.ParseFrom(new ReadOnlySpan<byte>(record.Value));
        }
        catch (InvalidProtocolBufferException e)
        {
            // A poison record: keep it, with the reason, and move on; never block the partition.
            await DeadLetterAsync(record.Key, record.Value ?? [], record.Timestamp, $"not a wal.v1.LogEntry: {e.Message}", 0, permanent: true, Source(), CarriedHeaders.From(record.Headers));
            return;
        }

        var source = Source();
        if (Encoding.UTF8.GetByteCount(entry.Id) is var idBytes and > RecordLimits.MaxIdBytes)
        {
            // Only a record written around the ingress has such an id: kept, its timer or dead letter would not fit a record.
            await DeadLetterAsync(record.Key, record.Value, record.Timestamp, $"an id of {idBytes} bytes, over the limit of {RecordLimits.MaxIdBytes}: a timer or dead letter holding it twice would not fit a Kafka record", 0, permanent: true, source, CarriedHeaders.From(record.Headers));
            return;
        }

        var pending = new PendingDelivery
        {
            FirstAttemptMs = entry.AcceptedAtMs,
            SourceTopic = source.Topic,
            SourcePartition = source.Partition,
            SourceOffset = source.Offset,
        };
        CarriedHeaders.Save(record.Headers, pending.Headers);
        long due;
        var now = Now();
        try
        {
            due = DueTime.FirstDueAtMs(entry, now);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException or OverflowException)
        {
            // Only a record written around the ingress has such a lifecycle: no retry can fix it.
            await DeadLetterAsync(record.Key, record.Value ?? [], record.Timestamp, $"a malformed lifecycle: {e.Message}", 0, permanent: true, source, CarriedHeaders.From(record.Headers));
            return;
        }

        if (due > now)
        {
            // Read again after an upgrade, the record may find the first timer the previous version stored under another
            // key: that one fires, and a second one put beside it delivered the record twice. A timer put before under
            // this key is replaced by the same.
            if (PreviousVersionsFirstTimerOf(entry, now) is null)
            {
                PutTimer(DueKey.Encode(due, entry.Id, source.Offset), TimerValue.Compose(record.Value, pending));
            }

            return;
        }

        // Input is committed only at the commit interval: read again after a crash, the record may be stored already.
        var chain = ChainOf(pending, entry, ownKey: null);
        if (chain.State == Chain.Unmarked && FirstTimerOf(entry, due, source.Offset, now) is { } first)
        {
            chain = first;
        }

        // Not while the namespace is deleted: that timer waits then (FireDueTimersAsync), and fired from here, the entry was
        // delivered after the delete.
        if (chain.State == Chain.CarriedOnByItsDueTimer && HoldKey.Of(entry) is not null && HeldBy(chain.Stored!) is null
            && _registry.TryGet(_namespace, out _))
        {
            // A timer of the record that is due already (its first, its input read before it was due; or the one that
            // fired before a crash that kept its retry's marker and not the retry), and no hold of its key naming it:
            // left to the next tick, a later entry of its key read now went first. Fired now, in its input's place.
            // Held by it, its key makes later entries wait, and the timer fires at the next tick: fired from here, its
            // end let the queue go before their inputs, read again next, found them let go, and they went twice.
            await FireAsync(chain.Carrier!, chain.Stored!);
            return;
        }

        if (chain.State is not (Chain.Unmarked or Chain.Marked))
        {
            // A timer of the record, or its key's queue, carries it on: attempted here as well, a delivery left that
            // carrier to attempt it once more, perhaps refused and ending in a dead letter, or after later entries of its key.
            LogAlreadyStored(_logger, _namespace, entry.Id);
            return;
        }

        if (WaitsForItsKey(entry, pending, () => TimerValue.Compose(record.Value, pending), storedAt: null))
        {
            return;
        }

        if (!_registry.TryGet(_namespace, out _))
        {
            // Deleted, its processors still read its backlog until the rebuild: attempted now, it was delivered after the
            // delete was acknowledged, and retried under the defaults' policy. It waits as a timer due already, which waits
            // while the namespace is gone (FireDueTimersAsync) and carries it on if the namespace is created again.
            PutTimer(DueKey.Encode(due, entry.Id, source.Offset), TimerValue.Compose(record.Value, pending));
            return;
        }

        pending.Entry = entry;
        await AttemptAsync(pending, due, marked: chain.State == Chain.Marked);
    }

    public override void Close()
    {
        _timeout.Dispose();
        base.Close();
    }

    private async ValueTask FireDueTimersAsync(DateTimeOffset now)
    {
        // A deleted namespace's processors run until the topology is rebuilt without it, a debounce and a close after
        // the delete: its timers wait meanwhile, as they do once it is gone, and fire if it is created again. Fired,
        // they delivered after the delete was acknowledged, retried under the default policy, or expired mutations.
        if (!_registry.TryGet(_namespace, out _))
        {
            return;
        }

        // Collect first, then act: acting writes to the store being scanned.
        var nowMs = now.ToUnixTimeMilliseconds();
        var due = new List<(byte[] Key, PendingDelivery Pending)>();
        long bytes = 0;
        using (var scan = Timers.Range(DueKey.LowerBound(_lowestDueMs), DueKey.UpperBound(nowMs)))
        {
            while (due.Count < _options.MaxTimersPerTick && bytes < _options.MaxTimerBytesPerTick && scan.MoveNext())
            {
                // A parsed timer holds a copy of its entry's payload: the bytes read bound the batch's memory.
                bytes += scan.Value.Length;
                due.Add((scan.Key.ToArray(), TimerValue.Parse(scan.Value)));
            }
        }

        // A full batch may have left more timers due at the last one's millisecond; otherwise all up to now are taken.
        var full = due.Count == _options.MaxTimersPerTick || bytes >= _options.MaxTimerBytesPerTick;
        _lowestDueMs = Math.Max(_lowestDueMs, full ? DueKey.DueAtMs(due[^1].Key) : nowMs + 1);
        var acted = 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            for (; acted < due.Count; acted++)
            {
                if (acted > 0 && System.Diagnostics.Stopwatch.GetElapsedTime(started) >= _options.MaxTimerFiringTime)
                {
                    break;
                }

                var (key, pending) = due[acted];
                // Now, not the tick's time: the deliveries before this one in the batch made it later still.
                _metrics.TimerFired(_namespace, DueKey.DueAtMs(key), Now());
                await FireAsync(key, pending);
            }
        }
        finally
        {
            if (acted < due.Count)
            {
                // The rest are still in the store: the next scan must find them.
                _lowestDueMs = Math.Min(_lowestDueMs, DueKey.DueAtMs(due[acted].Key));
            }
        }
    }

    private void PutTimer(byte[] key, byte[] value)
    {
        _lowestDueMs = Math.Min(_lowestDueMs, DueKey.DueAtMs(key));
        Timers.PutOwned(key, value);
        _metrics.TimerScheduled(_namespace);
    }

    /// <summary>Attempts a fired timer's delivery, unless its record is carried on by another timer or its key's queue.</summary>
    private async ValueTask FireAsync(byte[] key, PendingDelivery pending)
    {
        var chain = ChainOf(pending, pending.Entry, key);
        if (chain.State is not (Chain.Unmarked or Chain.Marked))
        {
            // A crash came after this timer's attempt saved what carries the record on (its retry, or its place in its
            // key's queue) and before this timer was deleted.
            LogSuperseded(_logger, _namespace, pending.Entry?.Id ?? string.Empty, pending.Attempts);
            DeleteTimer(key);
            return;
        }

        // A retry goes on whatever holds its key: in order, only a key's hold retries, and after a crash a retry the hold
        // does not name has been attempted before the entries waiting now.
        if (pending.Attempts == 0 && pending.Entry is { } entry && WaitsForItsKey(entry, pending, pending.ToByteArray, key))
        {
            DeleteTimer(key);
            return;
        }

        await AttemptAsync(pending, DueKey.DueAtMs(key), key, chain.State == Chain.Marked);
    }

    /// <summary>
    /// Where the chain of <paramref name="pending"/>'s record stands, seen from an attempt about to be made from
    /// <paramref name="ownKey"/> (a fired timer, or the record's place in its key's queue), or from its input (null).
    /// </summary>
    /// <remarks>
    /// A record's marker names the one carrier of its chain, and is saved before it (<see cref="MarkerValue"/>): a
    /// crash keeps the marker and that carrier, or a marker naming a carrier not stored, whose previous one (if any) is
    /// then still stored, or neither, never a carrier no marker names. A marker naming another record's carrier is not
    /// this chain's: a log topic recreated under a kept timer store gives a new record the position of an old chain,
    /// whose marker then sits there. A marker naming a place in a queue is settled here, with the writes a crash did
    /// not keep (<see cref="QueuedAt"/>). Reads only the marker when there is none, as for nearly every record.
    /// </remarks>
    private ChainState ChainOf(PendingDelivery pending, LogEntry entry, byte[]? ownKey)
    {
        if (MarkerOf(pending) is not { } marker || Timers.Get(marker) is not { } value)
        {
            return new(Chain.Unmarked);
        }

        var (next, previous) = MarkerValue.Parse(value);
        if (ownKey is not null && ownKey.AsSpan().SequenceEqual(next))
        {
            return new(Chain.Marked);
        }

        if (HoldKey.IsWaiting(next))
        {
            return QueuedAt(next, previous, entry, ownKey);
        }

        if (!DueKey.IsOf(next, entry.Id))
        {
            return new(Chain.Unmarked);
        }

        if (Timers.Get(next) is { } stored)
        {
            return TimerValue.Parse(stored) is var timer && timer.Entry.Equals(entry) ? new(Chain.CarriedOnByAnotherTimer, next, timer) : new(Chain.Unmarked);
        }

        return CarriedOnBy(previous, entry, ownKey);
    }

    /// <summary>
    /// The chain of a record whose marker names a place in its key's queue, <paramref name="waitingKey"/>. Queueing saves
    /// the marker, then the waiting record, then the hold counting it in; a release deletes the marker of a record it
    /// let go, then the record.
    /// </summary>
    /// <remarks>
    /// Writes what a crash did not keep: a waiting record the hold does not count in is counted in now (no release
    /// reaches it otherwise), or, when its hold has gone, deleted, and the record is attempted instead. A place with
    /// no record is one a crash did not keep, and is taken again; a place another record took is not this record's.
    /// </remarks>
    private ChainState QueuedAt(byte[] waitingKey, byte[]? previous, LogEntry entry, byte[]? ownKey)
    {
        if (Timers.Get(waitingKey) is not { } stored)
        {
            return CarriedOnBy(previous, entry, ownKey);
        }

        if (!TimerValue.Parse(stored).Entry.Equals(entry))
        {
            // Another record's (a recreated topic's old chain), or this record's place taken after a crash kept only its
            // marker: queued again, the record names its new place.
            return new(Chain.Unmarked);
        }

        var holdKey = HoldKey.HoldOf(waitingKey);
        var sequence = HoldKey.Sequence(waitingKey);
        if (Timers.Get(holdKey) is { } heldBy && KeyHold.Parser.ParseFrom(heldBy) is var hold && sequence >= hold.FirstWaiting)
        {
            if (sequence >= hold.NextWaiting)
            {
                hold.NextWaiting = sequence + 1;
                Timers.PutOwned(holdKey, hold.ToByteArray());
            }

            return new(Chain.Queued, waitingKey);
        }

        Timers.DeleteOwned(waitingKey);
        return CarriedOnBy(previous, entry, ownKey);
    }

    /// <summary>
    /// The chain of a record whose marker names a carrier not stored: <paramref name="previous"/>, the carrier it was
    /// to replace, if still stored, carries the record on; otherwise the attempt about to be made does.
    /// </summary>
    private ChainState CarriedOnBy(byte[]? previous, LogEntry entry, byte[]? ownKey)
    {
        if (previous is null || (ownKey is not null && ownKey.AsSpan().SequenceEqual(previous))
            || Timers.Get(previous) is not { } stored || TimerValue.Parse(stored) is not { } carrier || !carrier.Entry.Equals(entry))
        {
            return new(Chain.Marked);
        }

        return HoldKey.IsWaiting(previous) ? new(Chain.Queued, previous) : new(Chain.CarriedOnByItsDueTimer, previous, carrier);
    }

    /// <summary>
    /// The first timer of <paramref name="entry"/>, read from <paramref name="offset"/>, due at <paramref name="due"/> and
    /// read again after it was due, when that timer is stored. An entry with no schedule (as nearly every one) was due
    /// when first read, never stored as a first timer, and costs no read.
    /// </summary>
    private ChainState? FirstTimerOf(LogEntry entry, long due, long offset, long now) =>
        DueTime.IsScheduled(entry) ? TimerOf(entry, DueKey.Encode(due, entry.Id, offset)) ?? PreviousVersionsFirstTimerOf(entry, now) : null;

    /// <summary>
    /// The first timer of <paramref name="entry"/> as the version before this one stored it, when it is stored: keyed by
    /// due time and id alone, and the due time truncated to the millisecond (<see cref="DueTime.TruncatedFirstDueAtMs"/>).
    /// </summary>
    private ChainState? PreviousVersionsFirstTimerOf(LogEntry entry, long now) =>
        TimerOf(entry, DueKey.Encode(DueTime.TruncatedFirstDueAtMs(entry, now), entry.Id));

    /// <summary>The timer stored at <paramref name="key"/>, when it carries <paramref name="entry"/>.</summary>
    private ChainState? TimerOf(LogEntry entry, byte[] key) =>
        Timers.Get(key) is { } stored && TimerValue.Parse(stored) is var timer && timer.Entry.Equals(entry) ? new(Chain.CarriedOnByItsDueTimer, key, timer) : null;

    /// <summary>
    /// Whether <paramref name="entry"/>, due for its first attempt, must wait behind an earlier entry of its Kafka record
    /// key that is being retried; if so it is put last in the key's queue, stored as <paramref name="value"/> gives it,
    /// and <paramref name="storedAt"/>, the fired timer that held it (null: its input), is left for the caller to delete.
    /// </summary>
    /// <remarks>
    /// The record's marker names its place first, then the record is put, then the hold counts it in. A crash that kept
    /// the marker alone leaves a place the hold does not count, which the record taken again (its input read again,
    /// or its timer not yet deleted) takes again; one that kept the record too leaves it for that record to count in
    /// (<see cref="QueuedAt"/>). Without the marker, its input read again queued it a second time, and it was delivered
    /// twice. The hold counts in only records put, so a place it counts whose record is gone was let go.
    /// </remarks>
    private bool WaitsForItsKey(LogEntry entry, PendingDelivery pending, Func<byte[]> value, byte[]? storedAt)
    {
        // A head read again after a crash that kept the hold its failed attempt made is the one the others wait for.
        if (HoldOf(entry, pending) is not var (holdKey, hold, isHead) || isHead)
        {
            return false;
        }

        var waitingKey = HoldKey.Waiting(holdKey, hold.NextWaiting);
        Timers.PutOwned(MarkerOf(pending)!, MarkerValue.Encode(waitingKey, storedAt));
        Timers.PutOwned(waitingKey, value());
        hold.NextWaiting++;
        Timers.PutOwned(holdKey, hold.ToByteArray());
        _metrics.WaitedForKey(_namespace);
        LogWaiting(_logger, _namespace, entry.Id, hold.NextWaiting - hold.FirstWaiting);
        return true;
    }

    /// <summary>
    /// Lets the entries waiting behind <paramref name="hold"/> go, in order, now that its head's chain has ended: each
    /// is attempted until one fails and is retried (it holds the key from then on) or the queue is empty (the hold goes).
    /// </summary>
    /// <remarks>
    /// Runs before the head's timer is deleted: a crash anywhere in it leaves that timer, whose firing again (a repeat
    /// delivery, which sinks allow, landing after the entries let go before the crash) lets the rest go. An entry's waiting record is deleted once it is delivered or
    /// dead-lettered, then its marker, and the hold's progress saved only when the loop stops, so a crash may leave the
    /// hold counting deleted records, which are skipped. An entry that takes the hold over has its marker name its
    /// timer first (with its waiting record as the carrier it replaces), then that timer, then the hold naming it, then
    /// its waiting record deleted: a crash between the last two leaves that record just below the hold's first,
    /// deleted when its own chain ends.
    /// </remarks>
    private async ValueTask ReleaseAsync(byte[] holdKey, KeyHold hold)
    {
        if (hold.FirstWaiting > 0 && HoldKey.Waiting(holdKey, hold.FirstWaiting - 1) is var left && Timers.Get(left) is not null)
        {
            Timers.DeleteOwned(left);
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (; hold.FirstWaiting < hold.NextWaiting; hold.FirstWaiting++)
        {
            var waitingKey = HoldKey.Waiting(holdKey, hold.FirstWaiting);
            if (Timers.Get(waitingKey) is not { } stored)
            {
                continue;
            }

            var next = TimerValue.Parse(stored);
            if (MarkerOf(next) is { } marker && hold.Head.Span.SequenceEqual(marker))
            {
                // The head's own record, queued a second time by a crash (its input processed again, or its timer fired
                // again) before it took the hold over: its chain is the one ending now. Attempted, its end would find
                // itself the head again and let the queue go from inside this release, delivering this copy over and over.
                Timers.DeleteOwned(waitingKey);
                continue;
            }

            var chain = ChainOf(next, next.Entry, waitingKey);
            if (chain.State is Chain.CarriedOnByAnotherTimer or Chain.CarriedOnByItsDueTimer)
            {
                // Let go before a crash that kept its retry's timer (or its promotion's) and not the hold naming it.
                HandOver(holdKey, hold, next, waitingKey);
                return;
            }

            if (chain.State == Chain.Queued)
            {
                // A copy its marker does not name: its input was read again after a crash that kept its marker's delete
                // and not its own, when it had been let go once, and queued it again. The copy its marker names goes
                // in its turn: delivered here too, it was delivered twice after the restore.
                Timers.DeleteOwned(waitingKey);
                continue;
            }

            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) >= _options.MaxTimerFiringTime)
            {
                // A long queue must not hold the thread's other work: the next entry becomes the head, due at once, and
                // its firing lets the rest go. Its marker names that timer first, as a retry's does.
                var promoted = DueKey.Encode(Now(), next.Entry.Id, next.SourceOffset);
                Timers.PutOwned(MarkerOf(next)!, MarkerValue.Encode(promoted, waitingKey));
                PutTimer(promoted, stored);
                HandOver(holdKey, hold, next, waitingKey);
                return;
            }

            // Delivered or dead-lettered, the attempt deletes the waiting record, then its marker.
            if (await AttemptAsync(next, Now(), waitingKey, marked: chain.State == Chain.Marked) == AttemptOutcome.Retrying)
            {
                HandOver(holdKey, hold, next, waitingKey);
                return;
            }
        }

        Timers.DeleteOwned(holdKey);
    }

    /// <summary>Makes <paramref name="next"/>, whose timer is saved, the entry the rest of its key wait for.</summary>
    private void HandOver(byte[] holdKey, KeyHold hold, PendingDelivery next, byte[] waitingKey)
    {
        hold.Head = ByteString.CopyFrom(MarkerOf(next));
        hold.FirstWaiting++;
        Timers.PutOwned(holdKey, hold.ToByteArray());
        Timers.DeleteOwned(waitingKey);
    }

    /// <summary>The hold of <paramref name="pending"/>'s record key when it names <paramref name="pending"/> as its head.</summary>
    private (byte[] Key, KeyHold Hold)? HeldBy(PendingDelivery pending) =>
        HoldOf(pending.Entry, pending) is ({ } holdKey, { } hold, true) ? (holdKey, hold) : null;

    /// <summary>The hold of <paramref name="entry"/>'s record key, if any, and whether it names <paramref name="pending"/> as its head.</summary>
    private (byte[] Key, KeyHold Hold, bool IsHead)? HoldOf(LogEntry entry, PendingDelivery pending)
    {
        if (HoldKey.Of(entry) is not { } holdKey || MarkerOf(pending) is not { } marker || Timers.Get(holdKey) is not { } stored)
        {
            return null;
        }

        var hold = KeyHold.Parser.ParseFrom(stored);
        return (holdKey, hold, hold.Head.Span.SequenceEqual(marker));
    }

    /// <summary>
    /// Attempts a delivery due at <paramref name="dueAtMs"/>; <paramref name="storedAt"/> is the key that held it (a fired
    /// timer, or its place in a key's queue; null: its input), deleted once the attempt has an outcome (a place in a
    /// queue is left to the release when the entry is retried), and <paramref name="marked"/> says whether the attempt
    /// carries its chain on as its marker names it (<see cref="ChainOf"/>).
    /// </summary>
    private async ValueTask<AttemptOutcome> AttemptAsync(PendingDelivery pending, long dueAtMs, byte[]? storedAt = null, bool marked = false)
    {
        var entry = pending.Entry;
        DeliveryResult result;
        _timeout.CancelAfter(_options.DeliveryTimeout);
        try
        {
            result = await _sink.DeliverAsync(EntryDelivery.From(entry), _timeout.Token);
        }
        catch (OperationCanceledException) when (_timeout.IsCancellationRequested)
        {
            result = DeliveryResult.Retriable($"no answer from the target within {_options.DeliveryTimeout.TotalSeconds:0.###} s");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A cancellation of the sink's own counts here too (an HttpClient timeout surfaces as TaskCanceledException):
            // the timeout's token is the only one the sink is given, and a stopping topology lets the delivery finish,
            // so nothing here asked for it. Let through, it failed the stream thread, every namespace on it included.
            LogSinkThrew(_logger, e, _namespace, entry.Id);
            result = DeliveryResult.Threw(e);
        }
        finally
        {
            if (!_timeout.TryReset())
            {
                _timeout.Dispose();
                _timeout = new CancellationTokenSource();
            }
        }

        pending.Attempts++;
        var answeredAtMs = Now();
        var sinkKind = entry.Target?.DestinationCase ?? Target.DestinationOneofCase.None;
        if (result.Succeeded)
        {
            _metrics.Attempted(
                _namespace, sinkKind, result.Outcome == DeliveryOutcome.Superseded ? DeliveryAttemptOutcome.Superseded : DeliveryAttemptOutcome.Delivered, dueAtMs, answeredAtMs);
            await EndChainAsync(pending, storedAt, marked);
            LogDelivered(_logger, _namespace, entry.Id, pending.Attempts, result.Outcome);
            return AttemptOutcome.Delivered;
        }

        pending.LastError = RecordLimits.BoundError(result.Error ?? result.Outcome.ToString());
        var policy = Policy();
        var permanent = result.Outcome == DeliveryOutcome.PermanentFailure;
        if (!permanent && policy.CanRetry(pending.Attempts))
        {
            var wait = policy.Delay(pending.Attempts, Random.Shared.NextDouble(), result.RetryAfter);
            _metrics.Attempted(_namespace, sinkKind, DeliveryAttemptOutcome.Retried, dueAtMs, answeredAtMs);
            var next = DueKey.Encode(answeredAtMs + (long)wait.TotalMilliseconds, entry.Id, pending.SourceOffset);
            if (MarkerOf(pending) is { } marker)
            {
                // The marker first, naming the retry's timer and the carrier it replaces: a crash that kept that timer
                // and not the marker left two timers with nothing to tell them apart, and a delivery by the first left
                // the second to attempt it again. Kept alone, the marker names a timer not stored, and the carrier it
                // replaces (still stored, or the input read again when there is none) carries the chain on.
                Timers.PutOwned(marker, MarkerValue.Encode(next, storedAt));
                // Then the hold, before the timer: a crash that kept the retry's timer and not the hold dropped the fired
                // timer as superseded and let the key's later entries go ahead of the retry. The hold after the marker:
                // kept without a marker, it named a head whose input read again took itself for a repeat, and let go of
                // nothing when delivered.
                HoldItsKey(entry, marker);
            }

            PutTimer(next, pending.ToByteArray());

            // A wait that rounds to nothing can land on the fired timer's own key: the put replaced it. A place in a
            // queue goes once the hold names the retry (HandOver).
            if (storedAt is not null && !HoldKey.IsWaiting(storedAt) && !storedAt.AsSpan().SequenceEqual(next))
            {
                DeleteTimer(storedAt);
            }

            LogRetrying(_logger, _namespace, entry.Id, pending.Attempts, wait.TotalMilliseconds, pending.LastError);
            return AttemptOutcome.Retrying;
        }

        _metrics.Attempted(_namespace, sinkKind, DeliveryAttemptOutcome.DeadLettered, dueAtMs, answeredAtMs);
        await DeadLetterAsync(
            Encoding.UTF8.GetBytes(entry.Id),
            entry.ToByteArray(),
            Now(),
            pending.LastError,
            pending.Attempts,
            permanent,
            (pending.SourceTopic, pending.SourcePartition, pending.SourceOffset),
            CarriedHeaders.From(pending.Headers));
        if (storedAt is not null)
        {
            // The stored entry is its only other copy (its input record is long committed): the dead letter
            // must be acknowledged before the delete can reach the changelog.
            await Context.FlushAsync();
        }

        await EndChainAsync(pending, storedAt, marked);
        return AttemptOutcome.DeadLettered;
    }

    /// <summary>
    /// Makes a key's later entries wait behind <paramref name="entry"/>, whose retry is scheduled, unless its key is held
    /// already: by this entry's own chain, or, while a queue is let go, by the head the caller is about to replace.
    /// </summary>
    private void HoldItsKey(LogEntry entry, byte[] marker)
    {
        if (HoldKey.Of(entry) is { } holdKey && Timers.Get(holdKey) is null)
        {
            Timers.PutOwned(holdKey, new KeyHold { Head = ByteString.CopyFrom(marker) }.ToByteArray());
        }
    }

    /// <remarks>
    /// The end of the head's chain lets its key's queue go when the attempt carries that chain on: its stored timer's, or
    /// its input's read again when its marker names a carrier a crash did not keep (the chain's only one then). An
    /// input read again whose chain has a timer stored is not attempted (<see cref="ChainOf"/>); one with no marker was
    /// attempted before a crash that kept none of its failure's writes but the hold of a store written by an older
    /// order, whose timer then repeats it: had it let the queue go, that repeat would land after the entries let go,
    /// the key's oldest record last. An entry let go from a queue is never the head its hold names. An entry with no
    /// Kafka record key has no hold to read.
    /// </remarks>
    private async ValueTask EndChainAsync(PendingDelivery pending, byte[]? storedAt, bool marked)
    {
        var queued = storedAt is not null && HoldKey.IsWaiting(storedAt);
        if (!queued && (storedAt is not null || marked) && HeldBy(pending) is var (holdKey, hold))
        {
            await ReleaseAsync(holdKey, hold);
        }

        EndChain(pending, storedAt, marked);
    }

    /// <remarks>
    /// The carrier goes after its marker: a crash between them leaves a timer that fires again, or a waiting record its
    /// release reaches again, and the delivery is repeated. The other way round left a marker naming nothing, which
    /// only the record's input read again would find, and the input of a record that waited is committed long since.
    /// </remarks>
    private void EndChain(PendingDelivery pending, byte[]? storedAt, bool marked)
    {
        if (marked && MarkerOf(pending) is { } marker)
        {
            Timers.DeleteOwned(marker);
        }

        DeleteTimer(storedAt);
    }

    // A record's position is known wherever it was read; a timer saved without one has no marker and is always current.
    private static byte[]? MarkerOf(PendingDelivery pending) =>
        pending.SourceOffset < 0 ? null : ChainKey.Encode(pending.SourceTopic, pending.SourcePartition, pending.SourceOffset);

    private void DeleteTimer(byte[]? key)
    {
        if (key is not null)
        {
            Timers.DeleteOwned(key);
        }
    }

    // headers: the input's, those CarriedHeaders keeps; the dead letter's own go after them.
    private async ValueTask DeadLetterAsync(byte[]? key, byte[] value, long timestamp, string error, int attempts, bool permanent, (string Topic, int Partition, long Offset) source, Headers headers)
    {
        var reason = permanent ? DeadLetterReasons.Permanent : DeadLetterReasons.Retriable;
        DeadLetterHeaders.AddOwn(headers, RecordLimits.BoundError(error), reason, attempts, _namespace, source.Topic, source.Partition, source.Offset, Now());
        LogDeadLettered(_logger, _namespace, attempts, error);
        await Context.ForwardAsync(new Record<byte[], byte[]>(key!, value, timestamp, headers));
        _metrics.DeadLettered(_namespace, reason);
    }

    private BackoffPolicy Policy() =>
        new(_registry.TryGet(_namespace, out var config) ? config.Retry : NamespaceDefaults.Resolve(new NamespaceConfig { Name = _namespace }).Retry);

    private (string Topic, int Partition, long Offset) Source() =>
        Context.RecordMetadata is { } m ? (m.Topic, m.Partition, m.Offset) : (string.Empty, -1, -1);

    private long Now() => Context.CurrentSystemTime.ToUnixTimeMilliseconds();

    private enum Chain
    {
        /// <summary>No marker of the record's chain is stored, or the one there is another record's.</summary>
        Unmarked,

        /// <summary>
        /// The attempt about to be made carries the chain on: the marker names its own carrier, or one a crash did not
        /// keep while the carrier it replaces is gone too (or is the attempt's own).
        /// </summary>
        Marked,

        /// <summary>The marker names another stored timer of the record, which carries the chain on when it fires.</summary>
        CarriedOnByAnotherTimer,

        /// <summary>
        /// A timer of the record that is due already carries the chain on: the one the marker's timer, not kept by a
        /// crash, was to replace, or the first timer of a record with no marker.
        /// </summary>
        CarriedOnByItsDueTimer,

        /// <summary>The record waits in its key's queue, whose release attempts it.</summary>
        Queued,
    }

    /// <summary>A chain's state, and for a timer carrying it on, that timer's key and what it holds.</summary>
    private readonly record struct ChainState(Chain State, byte[]? Carrier = null, PendingDelivery? Stored = null);

    private enum AttemptOutcome
    {
        Delivered,
        Retrying,
        DeadLettered,
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: {Id} waits behind an earlier entry of its Kafka record key being retried ({Waiting} waiting)")]
    private static partial void LogWaiting(ILogger logger, string @namespace, string id, long waiting);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Namespace}: the sink threw delivering {Id}; counted as a retriable failure")]
    private static partial void LogSinkThrew(ILogger logger, Exception error, string @namespace, string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}: dropped a timer of {Id} after {Attempts} attempt(s) that a crash left behind; its retry carries on")]
    private static partial void LogSuperseded(ILogger logger, string @namespace, string id, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}: {Id} read again after a crash is stored already; its retry or its key's queue carries it on")]
    private static partial void LogAlreadyStored(ILogger logger, string @namespace, string id);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: delivered {Id} after {Attempts} attempt(s): {Outcome}")]
    private static partial void LogDelivered(ILogger logger, string @namespace, string id, int attempts, DeliveryOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}: attempt {Attempts} of {Id} failed ({Error}); retrying in {WaitMs:0} ms")]
    private static partial void LogRetrying(ILogger logger, string @namespace, string id, int attempts, double waitMs, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Namespace}: dead-lettered a record after {Attempts} attempt(s): {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string @namespace, int attempts, string error);
}
