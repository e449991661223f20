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
/// At least once: a fired timer stays in the store until its attempt has an outcome, and is
/// deleted only after the retry's timer is put (or the dead letter forwarded). The input record
/// behind a timer was committed long ago, so the store is the entry's only copy: a restore after a
/// crash reads the changelog to its end, and a timer deleted before its delivery finished would be
/// lost with the crash. The idempotent producer keeps the changelog's writes in order, so a crash
/// keeps a prefix of them: the old timer, or the new one, or both. A repeat attempt is harmless:
/// sinks are idempotent. Two chains of retries are not, so a retry first saves its chain's marker
/// (<see cref="ChainKey"/>), naming the one timer that carries the chain on, then that timer: a restored old timer
/// the marker does not name is dropped when it fires, and a record read again whose chain has a timer stored is not
/// attempted again. A marker whose timer a crash did not keep names none: the attempt made again carries the chain on
/// and deletes it. The marker is deleted before the chain's last timer, so a crash between them leaves a timer that
/// fires again. Entries of a Kafka record key wait behind one of them being retried (<see cref="HoldKey"/>): its hold
/// names that entry's chain, and only the chain's end lets the waiting ones go.
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
            PutTimer(DueKey.Encode(due, entry.Id), TimerValue.Compose(record.Value, pending));
            return;
        }

        var chain = ChainOf(pending, entry, firedKey: null);
        if (chain == Chain.CarriedOnByAnotherTimer)
        {
            // Attempted before a crash that kept its retry and not this input's commit: the retry carries it on. Attempted
            // again, a delivery here left the retry to attempt it once more, and perhaps end in a dead letter.
            LogAlreadyRetrying(_logger, _namespace, entry.Id);
            return;
        }

        if (WaitsForItsKey(entry, pending, () => TimerValue.Compose(record.Value, pending)))
        {
            return;
        }

        pending.Entry = entry;
        await AttemptAsync(pending, due, marked: chain == Chain.Marked);
    }

    public override void Close()
    {
        _timeout.Dispose();
        base.Close();
    }

    private async ValueTask FireDueTimersAsync(DateTimeOffset now)
    {
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

    /// <summary>Attempts a fired timer's delivery, unless its chain's marker names another timer.</summary>
    private async ValueTask FireAsync(byte[] key, PendingDelivery pending)
    {
        var chain = ChainOf(pending, pending.Entry, key);
        if (chain == Chain.CarriedOnByAnotherTimer)
        {
            // A crash came after a retry's marker and timer were saved and before this timer was deleted: the retry carries on.
            LogSuperseded(_logger, _namespace, pending.Entry?.Id ?? string.Empty, pending.Attempts);
            DeleteTimer(key);
            return;
        }

        // A retry goes on whatever holds its key: in order, only a key's hold retries, and after a crash a retry the hold
        // does not name has been attempted before the entries waiting now.
        if (pending.Attempts == 0 && pending.Entry is { } entry && WaitsForItsKey(entry, pending, pending.ToByteArray))
        {
            DeleteTimer(key);
            return;
        }

        await AttemptAsync(pending, DueKey.DueAtMs(key), key, chain == Chain.Marked);
    }

    /// <summary>
    /// Where the retry chain of <paramref name="pending"/>'s record stands, seen from an attempt about to be made from
    /// <paramref name="firedKey"/> (a fired timer), or from the record itself (null: its input, or its place in a key's queue).
    /// </summary>
    /// <remarks>
    /// A retry saves its chain's marker before its timer, so a crash keeps a marker naming a timer not yet stored, or
    /// both, never a timer no marker names: the attempt about to be made carries the chain on in the first case, and
    /// only the stored timer in the second. A marker naming a timer of another record is not this chain's: a log topic
    /// recreated under a kept timer store gives a new record the position of an old chain, whose marker then sits there.
    /// </remarks>
    private Chain ChainOf(PendingDelivery pending, LogEntry entry, byte[]? firedKey)
    {
        if (MarkerOf(pending) is not { } marker || Timers.Get(marker) is not { } current)
        {
            return Chain.Unmarked;
        }

        if (firedKey is not null && firedKey.AsSpan().SequenceEqual(current))
        {
            return Chain.Marked;
        }

        if (DueKey.Id(current) != entry.Id)
        {
            return Chain.Unmarked;
        }

        if (Timers.Get(current) is not { } stored)
        {
            return Chain.Marked;
        }

        return TimerValue.Parse(stored).Entry.Equals(entry) ? Chain.CarriedOnByAnotherTimer : Chain.Unmarked;
    }

    /// <summary>
    /// Whether <paramref name="entry"/>, due for its first attempt, must wait behind an earlier entry of its Kafka record
    /// key that is being retried; if so it is put last in the key's queue, stored as <paramref name="value"/> gives it.
    /// </summary>
    private bool WaitsForItsKey(LogEntry entry, PendingDelivery pending, Func<byte[]> value)
    {
        // A head read again after a crash that kept the hold its failed attempt made is the one the others wait for.
        if (HoldOf(entry, pending) is not var (holdKey, hold, isHead) || isHead)
        {
            return false;
        }

        // The hold counts the entry in before its record is put: a crash between the two leaves a sequence with no record,
        // which a release skips, and the entry comes again (its input processed again, or its timer not yet deleted).
        // The other way round left a record past the hold's last sequence, which no release reaches and nothing deletes.
        var waitingKey = HoldKey.Waiting(holdKey, hold.NextWaiting);
        hold.NextWaiting++;
        Timers.PutOwned(holdKey, hold.ToByteArray());
        Timers.PutOwned(waitingKey, value());
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
    /// delivery, which sinks allow) lets the rest go. An entry's waiting record is deleted once it is delivered or
    /// dead-lettered, and the hold's progress saved only when the loop stops, so a crash may leave the hold pointing at
    /// deleted records (or, from a queueing, one never put), which are skipped. An entry that takes the hold over has its
    /// retry's timer saved first, then the hold naming it, then its waiting record deleted: a crash between the last two
    /// leaves that record just below the hold's first, deleted when its own chain ends.
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

            var chain = ChainOf(next, next.Entry, firedKey: null);
            if (chain == Chain.CarriedOnByAnotherTimer)
            {
                // Let go before a crash that kept its retry's timer (or its promotion's) and not the hold naming it.
                HandOver(holdKey, hold, next, waitingKey);
                return;
            }

            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) >= _options.MaxTimerFiringTime)
            {
                // A long queue must not hold the thread's other work: the next entry becomes the head, due at once, and
                // its firing lets the rest go. Its marker names that timer first, as a retry's does.
                var promoted = DueKey.Encode(Now(), next.Entry.Id);
                Timers.PutOwned(MarkerOf(next)!, promoted);
                PutTimer(promoted, stored);
                HandOver(holdKey, hold, next, waitingKey);
                return;
            }

            var outcome = await AttemptAsync(next, Now(), marked: chain == Chain.Marked);
            if (outcome == AttemptOutcome.Retrying)
            {
                HandOver(holdKey, hold, next, waitingKey);
                return;
            }

            if (outcome == AttemptOutcome.DeadLettered)
            {
                // The waiting record is the entry's only other copy.
                await Context.FlushAsync();
            }

            Timers.DeleteOwned(waitingKey);
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
    /// timer, or its place in a key's queue), deleted once the attempt has an outcome, and <paramref name="marked"/> says
    /// whether its chain's marker names it.
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
            var next = DueKey.Encode(answeredAtMs + (long)wait.TotalMilliseconds, entry.Id);
            if (MarkerOf(pending) is { } marker)
            {
                // The hold first: a crash that kept the retry's timer and not the hold dropped the fired timer as
                // superseded and let the key's later entries go ahead of the retry. Kept alone, the hold names a chain
                // the fired timer (or the input processed again) still carries on, whose end lets it go.
                HoldItsKey(entry, marker);
                // The marker before the retry's timer: a crash that kept that timer and not the marker left two timers
                // with no marker to tell them apart, and a delivery by the first left the second to attempt it again.
                // Kept alone, the marker names a timer not stored, and the attempt made again carries the chain on.
                Timers.PutOwned(marker, next);
            }

            PutTimer(next, pending.ToByteArray());

            // A wait that rounds to nothing can land on the fired timer's own key: the put replaced it.
            if (storedAt is not null && !storedAt.AsSpan().SequenceEqual(next))
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
    /// The end of the head's chain lets its key's queue go, whatever made the attempt: its timer; or its input processed
    /// again after a crash that kept the hold and not its retry's timer, the chain's only carrier then. An attempt whose
    /// chain has another timer stored is not made (<see cref="ChainOf"/>): had it let the queue go, that timer's repeat
    /// would land after the entries let go, the key's oldest record last. An entry let go by a release is never the
    /// head its hold names, and one without a Kafka record key has no hold to read.
    /// </remarks>
    private async ValueTask EndChainAsync(PendingDelivery pending, byte[]? storedAt, bool marked)
    {
        if (HeldBy(pending) is var (holdKey, hold))
        {
            await ReleaseAsync(holdKey, hold);
        }

        EndChain(pending, storedAt, marked);
    }

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

        /// <summary>The marker names the attempt's own timer, or a timer a crash did not keep: the attempt carries the chain on.</summary>
        Marked,

        /// <summary>The marker names another stored timer of the record: that timer carries the chain on.</summary>
        CarriedOnByAnotherTimer,
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}: {Id} read again after a crash is already retried; its retry carries it on")]
    private static partial void LogAlreadyRetrying(ILogger logger, string @namespace, string id);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: delivered {Id} after {Attempts} attempt(s): {Outcome}")]
    private static partial void LogDelivered(ILogger logger, string @namespace, string id, int attempts, DeliveryOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}: attempt {Attempts} of {Id} failed ({Error}); retrying in {WaitMs:0} ms")]
    private static partial void LogRetrying(ILogger logger, string @namespace, string id, int attempts, double waitMs, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Namespace}: dead-lettered a record after {Attempts} attempt(s): {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string @namespace, int attempts, string error);
}
