using System.Text;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Sinks;
using Wal.Streams;
using Wal.Streams.State;
using Wal.Topology.State;

namespace Wal.Topology.Mutations;

/// <summary>
/// Assembles a namespace's multi-table mutations and applies them. Chunks wait in the chunk store
/// keyed by (request id, sequence); the mutation store holds each mutation's progress and its one
/// timer. When the completion marker and every chunk 0 .. count−1 are in, the chunks are applied
/// in sequence order through the sink. A failed apply waits for its backoff timer and resumes at
/// the first chunk not applied; after the last attempt, on a permanent error, or when a mutation
/// stays incomplete past the namespace's mutation_expiry, the mutation and its chunks go to the
/// dead-letter topic as one record.
/// </summary>
/// <remarks>
/// Why two stores: chunks are the bulk of the bytes and are read only by a range scan over one
/// request id, whereas the timer scan runs every tick; keeping the timers (and the small progress
/// records they point at) in their own store keeps that scan short and lets the two move together.
/// Progress is saved on every state change but not after each applied chunk: a crash mid-apply
/// restores the last saved <see cref="MutationProgress.NextSequence"/> and re-applies from there,
/// which the sinks' version guard makes a no-op for chunks already applied. Nor is it saved for a
/// chunk that comes before the marker (except the first, which creates it): the chunk store
/// records that arrival, and the marker counts the stored chunks with the scan its completeness
/// check needs anyway, so a mutation costs one progress record rather than one per chunk. The
/// count in the progress is a hint that spares scans after the marker; completeness is always
/// decided on the chunk store.
/// Applied and dead-lettered mutations keep their (chunk-less) progress for one more
/// mutation_expiry, so a late chunk or marker does not start a new mutation that would expire into
/// the dead-letter topic. Under an applied one it is a duplicate, and ignored. Under a dead-lettered
/// one it is ignored when the dead letter holds it; otherwise (an expired mutation's chunk, a marker
/// it lacked) it gets a dead letter of its own, reason "late", since it was acknowledged to its writer;
/// once, as the store records that it went. A chunk past the marker's count is no part of the
/// mutation: it goes to the dead-letter topic apart, reason "beyond_count", when the mutation is
/// applied or given up, or on arrival after that; once too.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The engine ends a processor's life with Close(), which disposes the timeout source.")]
public sealed partial class MutationProcessor : Processor<byte[], byte[], byte[], byte[]>
{
    /// <summary>
    /// The longest request id, in UTF-8 bytes, a mutation may have; a piece with a longer one is dead-lettered at once.
    /// </summary>
    /// <remarks>
    /// Half of dispatch's <see cref="RecordLimits.MaxIdBytes"/>: a dead letter of one chunk holds the id three times besides
    /// the chunk's own copy (its key, the <c>DeadMutation</c>'s request_id and the request-id header), where dispatch's holds
    /// it once more. A chunk written around the ingress (which takes 256 characters) under another key may fill its
    /// 1,000,000-byte record; with three 8 KiB copies and the longest error text (about 12.3 KB in UTF-8) its dead letter
    /// stays some 11 KB under <see cref="RecordLimits.ProducerMaxMessageBytes"/>, where 16 KiB copies would pass it.
    /// The stored chunk, progress and finished record hold it at most twice. An id of half a megabyte made a chunk or
    /// progress record that no producer took, failing the stream thread on every restart.
    /// </remarks>
    internal const int MaxRequestIdBytes = RecordLimits.MaxIdBytes / 2;

    private readonly string _namespace;
    private readonly string _chunkStoreName;
    private readonly string _mutationStoreName;
    private readonly INamespaceRegistry _registry;
    private readonly ISink _sink;
    private readonly WalTopologyOptions _options;
    private readonly ILogger _logger;
    private readonly TopologyMetrics _metrics;
    private IKeyValueStore? _chunks;
    private IKeyValueStore? _mutations;

    // No timer in the store is due before this (ms); each tick scans from here, as DispatchProcessor
    // does. Every mutation moves its timer at least once (expiry, then applied-retention), leaving a
    // tombstone that drifts to the front of the timer range as time passes; a scan from the first
    // timer stepped over all of them on every tick. Lowered by any timer put below it, raised after
    // a scan; 0 after Init, so timers restored from the changelog are all found.
    private long _lowestDueMs;

    // One per processor, reset after each delivery: a source per chunk registered a timer per chunk.
    private CancellationTokenSource _timeout = new();

    public MutationProcessor(
        string namespaceName, string chunkStoreName, string mutationStoreName, INamespaceRegistry registry, ISink sink, WalTopologyOptions options, ILogger logger,
        TopologyMetrics? metrics = null)
    {
        _namespace = namespaceName;
        _chunkStoreName = chunkStoreName;
        _mutationStoreName = mutationStoreName;
        _registry = registry;
        _sink = sink;
        _options = options;
        _logger = logger;
        _metrics = metrics ?? TopologyMetrics.Shared;
    }

    private IKeyValueStore Chunks => _chunks ?? throw new InvalidOperationException("Init has not run.");

    private IKeyValueStore Mutations => _mutations ?? throw new InvalidOperationException("Init has not run.");

    public override void Init(IProcessorContext<byte[], byte[]> context)
    {
        base.Init(context);
        _chunks = context.GetStateStore<IKeyValueStore>(_chunkStoreName);
        _mutations = context.GetStateStore<IKeyValueStore>(_mutationStoreName);
        context.Schedule(_options.TimerTick, PunctuationType.WallClockTime, FireDueTimersAsync);
    }

    public override void Close()
    {
        _timeout.Dispose();
        base.Close();
    }

    public override async ValueTask ProcessAsync(Record<byte[], byte[]> record)
    {
        LogEntry entry;
        try
        {
            entry = LogEntry.Parser.ParseFrom(record.Value ?? []);
        }
        catch (InvalidProtocolBufferException e)
        {
            // The router saw a mutation body's tag but the entry is malformed: keep it, never block the partition.
            await DeadLetterPoisonAsync(record, $"not a wal.v1.LogEntry: {e.Message}");
            return;
        }

        if (Malformed(entry) is { } why)
        {
            // Only a record written around the ingress, which refuses these, can be one.
            await DeadLetterPoisonAsync(record, why);
            return;
        }

        if (RequestIdOf(entry).Contains('\uFFFD', StringComparison.Ordinal) && !RequestIdEncoding.IsValid(record.Value ?? []))
        {
            await DeadLetterPoisonAsync(
                record, "a request_id that is not valid UTF-8: its invalid bytes read as U+FFFD, so another mutation's id could read the same and the two would be assembled as one");
            return;
        }

        switch (entry.BodyCase)
        {
            case LogEntry.BodyOneofCase.Chunk:
                await OnChunkAsync(entry.Chunk, record);
                break;
            case LogEntry.BodyOneofCase.Completion:
                await OnCompletionAsync(entry.Completion, record);
                break;
            default:
                // The router matched a chunk or marker field number with another wire type, which the parser keeps as an
                // unknown field: only a record written around the ingress. Thrown, it failed the stream thread on every restart.
                await DeadLetterPoisonAsync(record, "a log entry whose chunk or completion field is not a message");
                break;
        }
    }

    private static string RequestIdOf(LogEntry entry) => entry.BodyCase switch
    {
        LogEntry.BodyOneofCase.Chunk => entry.Chunk.RequestId,
        LogEntry.BodyOneofCase.Completion => entry.Completion.RequestId,
        _ => string.Empty,
    };

    private static string? Malformed(LogEntry entry) => entry.BodyCase switch
    {
        LogEntry.BodyOneofCase.Chunk when entry.Chunk.RequestId.Length == 0 => "a mutation chunk without a request_id",
        LogEntry.BodyOneofCase.Completion when entry.Completion.RequestId.Length == 0 => "a completion marker without a request_id",
        LogEntry.BodyOneofCase.Completion when entry.Completion.ChunkCount == 0 => "a completion marker with chunk_count 0",
        LogEntry.BodyOneofCase.Chunk => TooLong(entry.Chunk.RequestId),
        LogEntry.BodyOneofCase.Completion => TooLong(entry.Completion.RequestId),
        _ => null,
    };

    private static string? TooLong(string requestId) =>
        Encoding.UTF8.GetByteCount(requestId) is var bytes and > MaxRequestIdBytes
            ? $"a request_id of {bytes} bytes, over the limit of {MaxRequestIdBytes}: the mutation's stored state and dead letter hold it more than once and would not fit a Kafka record"
            : null;

    private async ValueTask OnChunkAsync(MutationChunk chunk, Record<byte[], byte[]> record)
    {
        var existing = Load(chunk.RequestId);
        var progress = existing ?? Start(chunk.RequestId, record.Timestamp);
        var key = ChunkKey.Encode(chunk.RequestId, chunk.Sequence);
        if (IsFinished(progress) && !AccountsFor(progress, chunk.Sequence))
        {
            if (Chunks.Get(key) is not null)
            {
                // Its own dead letter went already: this is a writer's retry or a replay of it.
                LogIgnored(_logger, _namespace, chunk.RequestId, chunk.Sequence, progress.State);
                return;
            }

            // Late, or past the marker's count: the mutation's dead letter may have gone without it, or its apply did, and
            // ignored, an acknowledged chunk would end neither applied nor in the dead-letter topic.
            var reason = progress.ChunkCount > 0 && chunk.Sequence >= progress.ChunkCount ? MutationDeadLetterHeaders.BeyondCount : MutationDeadLetterHeaders.Late;
            await DeadLetterPieceAsync(progress, chunk, markerCount: 0, record.Headers, reason);
            return;
        }

        if (IsFinished(progress))
        {
            LogIgnored(_logger, _namespace, chunk.RequestId, chunk.Sequence, progress.State);
            return;
        }

        if (progress.ChunkCount > 0 && chunk.Sequence >= progress.ChunkCount)
        {
            // Stored as a chunk before the marker is: the mutation's dead letter carries it, or, once the mutation applies
            // without it, a dead letter of its own.
            LogOutOfRange(_logger, _namespace, chunk.RequestId, chunk.Sequence, progress.ChunkCount);
        }

        if (Chunks.Get(key) is not null)
        {
            LogDuplicate(_logger, _namespace, chunk.RequestId, chunk.Sequence);
            await OnDuplicateAsync(progress, existing is null);
            return;
        }

        Chunks.Put(key, chunk.ToByteArray());
        if (progress.ChunkCount == 0)
        {
            // Before the marker the chunk store alone records arrivals; the marker counts them.
            if (existing is null)
            {
                NoteSource(progress);
                Save(progress);
            }

            return;
        }

        progress.ChunksStored++;
        NoteSource(progress);
        await ApplyIfReadyAsync(progress);
    }

    /// <summary>
    /// A chunk already stored came again: a redelivery, or a replay after a crash. A replay may
    /// find the two stores at different points (their changelogs are separate partitions), so
    /// settle from the chunk store: a mutation found without progress gets one (and its expiry),
    /// and a marked one is checked for completeness.
    /// </summary>
    private async ValueTask OnDuplicateAsync(MutationProgress progress, bool isNew)
    {
        if (isNew)
        {
            NoteSource(progress);
            Save(progress);
        }
        else if (progress.State == MutationState.Collecting && progress.ChunkCount > 0)
        {
            await ApplyIfCompleteAsync(progress, ReadStoredChunks(progress.RequestId));
        }
    }

    private async ValueTask OnCompletionAsync(MutationCompletion completion, Record<byte[], byte[]> record)
    {
        var progress = Load(completion.RequestId) ?? Start(completion.RequestId, record.Timestamp);
        if (progress.State == MutationState.DeadLettered && progress.ChunkCount == 0)
        {
            // The dead letter went out saying the marker never arrived: this one goes after it.
            await DeadLetterPieceAsync(progress, chunk: null, completion.ChunkCount, record.Headers, MutationDeadLetterHeaders.Late);
            return;
        }

        if (IsFinished(progress) || progress.ChunkCount > 0)
        {
            LogDuplicateMarker(_logger, _namespace, completion.RequestId, completion.ChunkCount, progress.State);
            return;
        }

        progress.ChunkCount = completion.ChunkCount;
        NoteSource(progress);
        await ApplyIfCompleteAsync(progress, ReadStoredChunks(progress.RequestId));
    }

    /// <summary>After a chunk that followed the marker: applies once the count says every chunk may be in and the store agrees.</summary>
    private async ValueTask ApplyIfReadyAsync(MutationProgress progress)
    {
        // The count is a hint; after chunks were applied (a retry that collects again) some below may be gone, so recount.
        if (progress.State == MutationState.Collecting && (progress.ChunksStored >= progress.ChunkCount || progress.NextSequence > 0))
        {
            await ApplyIfCompleteAsync(progress, ReadStoredChunks(progress.RequestId));
            return;
        }

        Save(progress);
    }

    /// <summary>Recounts the stored chunks, then applies if they are all in, or saves the progress.</summary>
    private async ValueTask ApplyIfCompleteAsync(MutationProgress progress, List<(byte[] Key, byte[] Value)> stored)
    {
        progress.ChunksStored = (uint)stored.Count;
        if (ChunksPresent(stored, progress.NextSequence, progress.ChunkCount))
        {
            if (progress.Attempts == 0)
            {
                // Once: a retry that collected a chunk again (below) assembles a second time.
                _metrics.MutationAssembled(_namespace);
            }

            if (!_registry.TryGet(_namespace, out _))
            {
                // Deleted, its processors still read its backlog until the rebuild: applied now, with the defaults' lack of
                // a default target, the mutation was dead-lettered as permanent. It waits as a retry due at once, whose timer
                // waits while the namespace is gone (FireDueTimersAsync) and applies it if the namespace is created again.
                progress.State = MutationState.Retrying;
                SaveWithTimer(progress, Now());
                return;
            }

            await ApplyAsync(progress, Now(), stored);
            return;
        }

        Save(progress);
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
        var due = new List<(byte[] Key, long DueMs, string RequestId)>();
        using (var scan = Mutations.Range(MutationKeys.TimersFrom(_lowestDueMs), MutationKeys.TimersDueBy(nowMs)))
        {
            while (due.Count < _options.MaxTimersPerTick && scan.MoveNext())
            {
                due.Add((scan.Key.ToArray(), MutationKeys.TimerDueAtMs(scan.Key), MutationKeys.TimerRequestId(scan.Key)));
            }
        }

        // A full batch may have left more timers due at the last one's millisecond; otherwise all up to now are taken.
        _lowestDueMs = Math.Max(_lowestDueMs, due.Count == _options.MaxTimersPerTick ? due[^1].DueMs : nowMs + 1);
        var acted = 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var forgetting = new List<MutationProgress>();
        try
        {
            for (; acted < due.Count; acted++)
            {
                if (acted > 0 && System.Diagnostics.Stopwatch.GetElapsedTime(started) >= _options.MaxTimerFiringTime)
                {
                    break;
                }

                var (key, dueMs, requestId) = due[acted];
                if (Load(requestId) is not { } progress || progress.TimerDueMs != dueMs)
                {
                    Mutations.Delete(key); // a timer the mutation has since replaced
                    continue;
                }

                // The timer stays until the step it fired has saved the next one (see SaveWithTimer).
                if (IsFinished(progress))
                {
                    DeleteChunks(progress.RequestId);
                    forgetting.Add(progress);
                }
                else
                {
                    await OnTimerAsync(progress);
                }
            }
        }
        finally
        {
            if (acted < due.Count)
            {
                // The rest are still in the store: the next scan must find them.
                _lowestDueMs = Math.Min(_lowestDueMs, due[acted].DueMs);
            }
        }

        await ForgetAsync(forgetting);
    }

    /// <summary>
    /// A finished mutation's retention is over: its chunk-store entries go first, and once Kafka has them, its progress
    /// and timer. The two stores' changelogs are separate partitions and a crash keeps a prefix of each: a restore that
    /// kept the progress delete and lost the others left the finished record (and any chunks a restore had brought back)
    /// with nothing to ever delete them. Kept, the progress and its timer forget the mutation again after the restart.
    /// One wait per tick, for all the mutations it forgets.
    /// </summary>
    private async ValueTask ForgetAsync(List<MutationProgress> forgetting)
    {
        if (forgetting.Count == 0)
        {
            return;
        }

        await Context.FlushAsync();
        foreach (var progress in forgetting)
        {
            Mutations.Delete(MutationKeys.Progress(progress.RequestId));
            Mutations.Delete(MutationKeys.Timer(progress.TimerDueMs, progress.RequestId));
        }
    }

    /// <summary>
    /// Deletes a finished mutation's chunks (they went with the apply or the dead letter, unless a restore brought back the
    /// chunk store's changelog without those deletes) and its finished record.
    /// </summary>
    private void DeleteChunks(string requestId)
    {
        foreach (var (key, _) in ReadStoredChunks(requestId))
        {
            Chunks.Delete(key);
        }

        Chunks.Delete(ChunkKey.Finished(requestId));
    }

    private async ValueTask OnTimerAsync(MutationProgress progress)
    {
        switch (progress.State)
        {
            case MutationState.Collecting when MayStillArrive(progress):
                // Pieces the writer sent before the deadline may still be unread (an outage's backlog): look again later.
                LogExpiryWaits(_logger, _namespace, progress.RequestId);
                SaveWithTimer(progress, Now() + (long)ExpiryRecheck().TotalMilliseconds);
                break;
            case MutationState.Collecting:
                var stored = ReadStoredChunks(progress.RequestId);
                progress.ChunksStored = (uint)stored.Count;
                progress.LastError = $"incomplete after {Expiry().TotalSeconds:0.###} s: {progress.ChunksStored} chunk(s) in, "
                    + (progress.ChunkCount > 0 ? $"{progress.ChunkCount} expected" : "no completion marker");
                await DeadLetterAsync(progress, MutationDeadLetterHeaders.Expired, stored);
                _metrics.MutationExpired(_namespace);
                break;
            case MutationState.Retrying:
                var chunks = ReadStoredChunks(progress.RequestId);
                if (!ChunksPresent(chunks, progress.NextSequence, progress.ChunkCount))
                {
                    // A restore brought back this retry (the mutation store's changelog) without some of the chunk puts
                    // before it (the chunk store's, another partition): their records, uncommitted, are being read again.
                    // Applied now, the rest would go without them and the re-read ones be ignored as finished. It
                    // collects again, from where the apply stopped, and applies once they are in or expires as any other.
                    progress.ChunksStored = (uint)chunks.Count;
                    progress.State = MutationState.Collecting;
                    LogRetryLacksChunks(_logger, _namespace, progress.RequestId, progress.ChunksStored, progress.ChunkCount);
                    SaveWithTimer(progress, Math.Max(progress.FirstSeenMs + (long)Expiry().TotalMilliseconds, Now() + (long)ExpiryRecheck().TotalMilliseconds));
                    break;
                }

                await ApplyAsync(progress, progress.TimerDueMs, chunks);
                break;
            default:
                throw new InvalidOperationException($"{_namespace}: mutation {progress.RequestId} is {progress.State}; a finished one is forgotten, not fired.");
        }
    }

    /// <summary>A new mutation's progress, its expiry timer set; the caller saves it.</summary>
    private MutationProgress Start(string requestId, long timestampMs)
    {
        // A timestamp ahead of this clock (a writer's around the ingress) would hold the expiry back until the task is idle.
        var now = Now();
        var progress = new MutationProgress { RequestId = requestId, State = MutationState.Collecting, FirstSeenMs = now, FirstRecordMs = Math.Min(timestampMs, now) };
        progress.TimerDueMs = PutTimer(progress.FirstSeenMs + (long)Expiry().TotalMilliseconds, requestId);
        return progress;
    }

    /// <summary>
    /// The mutation's progress, settled against the chunk store's finished record (<see cref="FinishChunks"/>): a
    /// restore can bring back a finished mutation's chunk deletes without the progress saved after them, which then
    /// still says Collecting or Retrying for chunks that are gone. A record from an earlier mutation under the same id
    /// (its forgetting kept the progress delete and lost this one) has another first-seen time, and is dropped.
    /// </summary>
    private MutationProgress? Load(string requestId)
    {
        if (Mutations.Get(MutationKeys.Progress(requestId)) is not { } bytes)
        {
            return null;
        }

        var progress = MutationProgress.Parser.ParseFrom(bytes);
        if (IsFinished(progress) || Chunks.Get(ChunkKey.Finished(requestId)) is not { } record)
        {
            return progress;
        }

        var finished = MutationProgress.Parser.ParseFrom(record);
        if (finished.FirstSeenMs != progress.FirstSeenMs)
        {
            Chunks.Delete(ChunkKey.Finished(requestId));
            return progress;
        }

        LogSettled(_logger, _namespace, requestId, finished.State);
        progress.State = finished.State;
        progress.ChunkCount = finished.ChunkCount;
        progress.ChunksStored = finished.ChunksStored;
        progress.NextSequence = finished.NextSequence;
        progress.Attempts = finished.Attempts;
        progress.LastError = finished.LastError;
        progress.DeadLetterHoldsEveryChunk = finished.DeadLetterHoldsEveryChunk;
        foreach (var (key, _) in ReadStoredChunks(requestId))
        {
            // Chunks past the count went to the dead-letter topic apart, before the finished record was written: they stay
            // recorded as gone, so a replay of one is not sent twice.
            if (finished.ChunkCount > 0 && ChunkKey.Sequence(key) >= finished.ChunkCount)
            {
                Chunks.Put(key, []);
            }
            else
            {
                Chunks.Delete(key);
            }
        }

        SaveWithTimer(progress, Now() + (long)Expiry().TotalMilliseconds);
        return progress;
    }

    private void Save(MutationProgress progress) => Mutations.Put(MutationKeys.Progress(progress.RequestId), progress.ToByteArray());

    /// <summary>
    /// Saves the progress with its one timer moved to <paramref name="dueMs"/>: the new timer, then
    /// the progress naming it, then the old timer's delete. The changelog keeps a store's writes in
    /// order and a crash keeps a prefix of them, so every prefix leaves the timer the saved progress
    /// names; an old timer left behind fires, finds the progress naming another, and is dropped.
    /// </summary>
    private void SaveWithTimer(MutationProgress progress, long dueMs)
    {
        var old = progress.TimerDueMs;
        progress.TimerDueMs = PutTimer(dueMs, progress.RequestId);
        Save(progress);
        if (old != 0 && old != progress.TimerDueMs)
        {
            Mutations.Delete(MutationKeys.Timer(old, progress.RequestId));
        }
    }

    private long PutTimer(long dueMs, string requestId)
    {
        dueMs = Math.Max(1, dueMs);
        _lowestDueMs = Math.Min(_lowestDueMs, dueMs);
        Mutations.Put(MutationKeys.Timer(dueMs, requestId), []);
        return dueMs;
    }

    /// <summary>
    /// Whether a finished mutation already accounts for chunk <paramref name="sequence"/>: applied, or certainly in its dead
    /// letter because an apply gave the mutation up (it starts only once every chunk below the marker's count is in, so its
    /// dead letter holds them all). A chunk past the count is no part of either, and goes after it. An expired dead letter's
    /// chunks are not remembered one by one, so a chunk of one may be new, even after apply attempts (a retry that found
    /// chunks a restore lost went back to collecting); its stored count is no help, as it counts chunks past the count.
    /// </summary>
    private static bool AccountsFor(MutationProgress progress, uint sequence) =>
        sequence < progress.ChunkCount && (progress.State == MutationState.Applied || progress.DeadLetterHoldsEveryChunk);

    private static bool IsFinished(MutationProgress progress) => progress.State is MutationState.Applied or MutationState.DeadLettered;

    private void NoteSource(MutationProgress progress)
    {
        if (Context.RecordMetadata is { } m)
        {
            progress.SourceTopic = m.Topic;
            progress.SourcePartition = m.Partition;
            progress.SourceOffset = m.Offset;
        }
    }

    private NamespaceConfig Config() =>
        _registry.TryGet(_namespace, out var config) ? config : NamespaceDefaults.Resolve(new NamespaceConfig { Name = _namespace });

    /// <summary>
    /// Whether an incomplete mutation whose expiry timer fired may still get pieces its writer sent before the deadline:
    /// the timer runs on the wall clock, and after an outage longer than mutation_expiry it fires while the rest of the
    /// mutation waits unread in the backlog. It may not once the task has read a record written at or past the deadline
    /// (the partition's records come in the order they were written), or has read all its input.
    /// </summary>
    private bool MayStillArrive(MutationProgress progress) =>
        progress.FirstRecordMs > 0
        && Context.CurrentStreamTimeMs < progress.FirstRecordMs + (long)Expiry().TotalMilliseconds
        && !Context.InputCaughtUp;

    /// <summary>How long an expiry waiting on a backlog waits before it looks again: a tenth of the expiry, within [tick, 10 s].</summary>
    private TimeSpan ExpiryRecheck()
    {
        var tenth = Expiry() / 10;
        var ceiling = TimeSpan.FromSeconds(10);
        return tenth < _options.TimerTick ? _options.TimerTick : tenth > ceiling ? ceiling : tenth;
    }

    private TimeSpan Expiry() =>
        Config().MutationExpiry is { } expiry && expiry.ToTimeSpan() > TimeSpan.Zero ? expiry.ToTimeSpan() : NamespaceDefaults.MutationExpiry;

    private long Now() => Context.CurrentSystemTime.ToUnixTimeMilliseconds();

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Namespace}: mutation {RequestId} was {State} before a restart whose restore lost its progress; settled from the chunk store")]
    private static partial void LogSettled(ILogger logger, string @namespace, string requestId, MutationState state);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: mutation {RequestId} is past its expiry on the wall clock, but the input written before its deadline is not all read; it waits")]
    private static partial void LogExpiryWaits(ILogger logger, string @namespace, string requestId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: ignored chunk {RequestId}/{Sequence}: the mutation is {State}")]
    private static partial void LogIgnored(ILogger logger, string @namespace, string requestId, uint sequence, MutationState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Namespace}: mutation {RequestId}'s retry found {Stored} of its {ChunkCount} chunk(s) after a restore; it collects the rest again, which are read again")]
    private static partial void LogRetryLacksChunks(ILogger logger, string @namespace, string requestId, uint stored, uint chunkCount);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: ignored duplicate chunk {RequestId}/{Sequence}")]
    private static partial void LogDuplicate(ILogger logger, string @namespace, string requestId, uint sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Namespace}: chunk {RequestId}/{Sequence} is past its marker's count of {ChunkCount} chunk(s); it goes to the dead-letter topic, not to the target")]
    private static partial void LogOutOfRange(ILogger logger, string @namespace, string requestId, uint sequence, uint chunkCount);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Namespace}: ignored completion marker of {RequestId} ({ChunkCount} chunk(s)): already marked or {State}")]
    private static partial void LogDuplicateMarker(ILogger logger, string @namespace, string requestId, uint chunkCount, MutationState state);
}
