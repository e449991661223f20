using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Wal.Schemas.V1;
using Wal.Topology.Dispatch;

namespace Wal.Topology.Replication;

/// <summary>
/// Copies one namespace's locally-originated records to one remote region: reads the local topic
/// in its own consumer group, produces each record whose origin is this region to the same topic
/// and partition in the remote cluster, and commits a local offset only once the remote has
/// acknowledged every record below it.
/// </summary>
/// <remarks>
/// Why a dedicated consume→produce loop and not a processor on the streams engine: the engine
/// commits every processed offset on its interval and offers a processor no say in it, so a
/// processor could keep "acknowledged before committed" only by awaiting each remote produce,
/// and while a region is down it would block its stream thread (and every task on it) past the
/// poll interval. Here the backlog of an unreachable region is simply the uncommitted tail of the
/// local topic: the remote producer (idempotent, acks=all, no message timeout) keeps retrying in
/// order, reading pauses at <see cref="RegionReplicatorOptions.MaxInFlight"/>, nothing advances
/// the committed offset, and a restart resumes from it. Kafka's retention is the backlog's bound.
/// Loops cannot form: a record whose origin is another region is skipped, so a replicated record
/// is never sent on. Delivery is at least once (a crash or a failed produce re-sends from the last
/// commit); the remote region's sinks are idempotent, so a duplicate changes nothing.
/// </remarks>
public sealed partial class RegionReplicator : IAsyncDisposable
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan CloseFlushTimeout = TimeSpan.FromSeconds(5);
    // For the local cluster to take a pass's dead letters, all of them: the loop waits, and a record not taken is re-sent.
    private static readonly TimeSpan DeadLetterTimeout = TimeSpan.FromSeconds(5);
    // Bounded well inside the rebalance timeout (max.poll.interval.ms, 5 minutes): the group waits for this member.
    private static readonly TimeSpan RevocationFlushTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan AnswerPollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan CommittedLookupTimeout = TimeSpan.FromSeconds(5);

    private readonly RegionReplicatorOptions _options;
    private readonly ILogger _logger;
    private readonly TopologyMetrics _metrics;
    private readonly ConcurrentQueue<Acknowledgement> _acks = new();
    private readonly Dictionary<TopicPartition, PartitionProgress> _progress = [];
    private readonly byte[] _originHeader;
    private readonly CancellationTokenSource _stop = new();
    private IConsumer<byte[], byte[]>? _consumer;
    private IProducer<byte[], byte[]>? _producer;
    // To this region's dead-letter topic, built at the first record the remote refuses for good.
    private RefusedRecordDeadLetters? _deadLetters;
    private long _deadLettered;
    private int _producerGeneration;
    private volatile bool _producerFailed;
    private bool _paused;
    private long _replicated;
    private long _sent;
    private long _unknownOrigin;
    private long _unknownOriginLoggedAt = long.MinValue;
    // Bytes of records produced and not yet acknowledged, for the current producer; read and written by the loop only.
    private long _inFlightBytes;
    private Task? _loop;

    public RegionReplicator(RegionReplicatorOptions options, ILogger logger, TopologyMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _options = options;
        _logger = logger;
        _metrics = metrics ?? TopologyMetrics.Shared;
        _originHeader = Encoding.UTF8.GetBytes(options.LocalRegion);
    }

    public RegionReplicatorOptions Options => _options;

    /// <summary>Records handed to the remote producer (re-sends included).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Records the remote region has acknowledged (duplicates after a re-send included).</summary>
    public long Replicated => Interlocked.Read(ref _replicated);

    /// <summary>Records the remote refused for good, written to this region's dead-letter topic instead.</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    /// <summary>Records not replicated because their origin is none of the namespace's regions (see <see cref="RegionReplicatorOptions.Regions"/>).</summary>
    public long UnknownOrigin => Interlocked.Read(ref _unknownOrigin);

    /// <summary>
    /// Ends when the copying loop ends: at <see cref="DisposeAsync"/>, or faulted when an unexpected error stopped it.
    /// A replicator whose loop failed copies nothing more; its progress stays at the last commit.
    /// </summary>
    public Task Stopped => _loop ?? Task.CompletedTask;

    /// <summary>True while reading is paused because the in-flight bound (records or bytes) is reached.</summary>
    public bool IsPaused => Volatile.Read(ref _paused);

    /// <summary>True once an unexpected error stopped the copying loop (see <see cref="Stopped"/>).</summary>
    public bool HasFailed => _loop is { IsFaulted: true };

    /// <summary>Joins the consumer group and starts copying on a thread of its own.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_loop is not null)
        {
            throw new InvalidOperationException($"Replicator {_options.GroupId} is already started.");
        }

        _consumer = BuildConsumer();
        _producer = BuildProducer();
        _consumer.Subscribe(_options.Topic);
        _loop = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        LogStarted(_logger, _options.Namespace, _options.LocalRegion, _options.RemoteRegion, _options.GroupId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops reading, waits briefly for the remote's acknowledgements, commits them and leaves the group. Does not
    /// throw for a loop that had already failed: that error was logged when it happened, and <see cref="Stopped"/> holds it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
    }

    private void Run()
    {
        var consumer = _consumer!;
        var lastCommit = TimeProvider.System.GetTimestamp();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                DrainAcknowledgements();
                if (_producerFailed)
                {
                    Recover();
                    continue;
                }

                if (TimeProvider.System.GetElapsedTime(lastCommit) >= _options.CommitInterval)
                {
                    CommitProgress(_progress.Keys.ToList());
                    lastCommit = TimeProvider.System.GetTimestamp();
                }

                ApplyBackPressure(consumer);
                ResumeAnswered(consumer);
                ConsumeOne(consumer);
            }

            _producer!.Flush(CloseFlushTimeout);
            DrainAcknowledgements();
            CommitProgress(_progress.Keys.ToList());
            consumer.Close();
        }
        catch (Exception e)
        {
            // The loop's boundary: anything unexpected stops this replicator, loudly; its progress
            // stays at the last commit, so a restart re-sends from there and loses nothing.
            LogCrashed(_logger, e, _options.GroupId);
            throw;
        }
        finally
        {
            consumer.Dispose();
            _producer?.Dispose();
            _deadLetters?.Dispose();
        }
    }

    private void ConsumeOne(IConsumer<byte[], byte[]> consumer)
    {
        ConsumeResult<byte[], byte[]>? record;
        try
        {
            record = consumer.Consume(PollTimeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            LogConsumeFailed(_logger, _options.GroupId, e.Error.Reason);
            _stop.Token.WaitHandle.WaitOne(_options.RetryBackoff);
            return;
        }

        if (record is null || record.IsPartitionEOF)
        {
            return;
        }

        if (!_progress.TryGetValue(record.TopicPartition, out var progress))
        {
            var committed = Committed(consumer, record.TopicPartition);
            progress = new PartitionProgress(record.TopicPartition, StartOf(committed, record), startCommitted: committed >= 0);
            _progress[record.TopicPartition] = progress;
        }

        if (record.Offset.Value > progress.Next)
        {
            ExpiredUnread(record.TopicPartition, progress.Next, record.Offset.Value - 1);
        }

        // A rewind to an earlier unanswered record reads the dead-lettered ones after it again; each has its dead letter.
        if (progress.WasDeadLettered(record.Offset.Value) || !OriginatedHere(record.Message.Value))
        {
            progress.Skipped(record.Offset.Value);
            return;
        }

        progress.Sent(record.Offset.Value);
        Produce(record, progress);
        if (progress.SendsAlone(record.Offset.Value))
        {
            // Paused before the next read: records of this partition already fetched are dropped, and read again on resume.
            consumer.Pause([record.TopicPartition]);
            progress.Held = true;
        }
    }

    // Where this partition's reading starts after an assignment: its committed offset, so that records retention removed
    // since are noticed at the first record read; the record's own offset when none was committed (reading from the start).
    private static long StartOf(long committed, ConsumeResult<byte[], byte[]> record) =>
        committed >= 0 && committed < record.Offset.Value ? committed : record.Offset.Value;

    // The group's committed offset of the partition; negative when it has none, or the lookup failed.
    private static long Committed(IConsumer<byte[], byte[]> consumer, TopicPartition partition)
    {
        try
        {
            return consumer.Committed([partition], CommittedLookupTimeout).Single().Offset.Value;
        }
        catch (KafkaException)
        {
            return Offset.Unset.Value;
        }
    }

    // The consumer went past offsets it was to read next: the fetch found them gone (the topic's retention removed them
    // while the remote region was away, or while the replicator was stopped) and it started again at the first one
    // left. Nothing in the topic or the remote can tell which of them originated here, so the count is of offsets.
    private void ExpiredUnread(TopicPartition partition, long first, long last)
    {
        var count = last - first + 1;
        _metrics.ExpiredUnread(_options.Namespace, _options.RemoteRegion, count);
        LogExpiredUnread(_logger, _options.GroupId, first, last, partition.Topic, partition.Partition.Value, count, _options.RemoteRegion);
    }

    /// <summary>
    /// True for a LogEntry accepted by this region's ingress. Records from other regions (already
    /// replicated) and records that are not LogEntries (the dispatch path dead-letters those) are
    /// not sent on. An origin that is none of the namespace's regions is counted and logged.
    /// </summary>
    private bool OriginatedHere(byte[]? value)
    {
        string origin;
        try
        {
            origin = LogEntry.Parser.ParseFrom(value ?? []).OriginRegion;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }

        if (origin == _options.LocalRegion)
        {
            return true;
        }

        // No origin at all is a redriven mutation's (see the README's redrive section): not replicated, by design.
        if (origin.Length > 0 && _options.Regions.Count > 0 && !_options.Regions.Contains(origin))
        {
            NoteUnknownOrigin(origin);
        }

        return false;
    }

    // A region name that differs by a letter between the ingress and the topology replicates nothing, and nothing else
    // would show it. Logged at most once a minute, with the count so far, so a steady stream does not flood the log.
    private void NoteUnknownOrigin(string origin)
    {
        var count = Interlocked.Increment(ref _unknownOrigin);
        var now = Environment.TickCount64;
        if (now - _unknownOriginLoggedAt >= 60_000)
        {
            _unknownOriginLoggedAt = now;
            LogUnknownOrigin(_logger, _options.GroupId, origin, _options.Namespace, _options.Regions.ToString(), _options.LocalRegion, count);
        }
    }

    /// <summary>
    /// The time a copy carries: the record's own, as a create time. A topic with broker-set timestamps (LogAppendTime)
    /// gives its records that type, which the producer refuses outright (an ArgumentException, not a failed delivery): the
    /// replicator stopped on such a record, was started again from its last commit, met it again, and b got nothing more.
    /// </summary>
    internal static Timestamp CopiedTimestamp(Timestamp original) =>
        original.Type == TimestampType.NotAvailable ? Timestamp.Default : new Timestamp(original.UnixTimestampMs, TimestampType.CreateTime);

    private void Produce(ConsumeResult<byte[], byte[]> record, PartitionProgress progress)
    {
        var headers = new Headers();
        foreach (var header in record.Message.Headers ?? [])
        {
            if (header.Key is not (ReplicationHeaders.OriginRegion or ReplicationHeaders.OriginPosition))
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        headers.Add(ReplicationHeaders.OriginRegion, _originHeader);
        headers.Add(ReplicationHeaders.OriginPosition, Encoding.UTF8.GetBytes(string.Create(
            CultureInfo.InvariantCulture, $"{record.Topic}/{record.Partition.Value}/{record.Offset.Value}")));
        var message = new Message<byte[], byte[]>
        {
            Key = record.Message.Key,
            Value = record.Message.Value,
            Headers = headers,
            Timestamp = CopiedTimestamp(record.Message.Timestamp),
        };

        // Same partition number as at home: the namespace has the same partition count in every
        // region, so each key keeps its partition and its order there.
        Interlocked.Increment(ref _sent);
        var generation = _producerGeneration;
        var offset = record.Offset.Value;
        var bytes = (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
        // No other record of its partition in flight: none can share its batch unless sent before its answer, and that
        // one would still be in flight when the answer is read (see RefusedAlone).
        var sentAlone = progress.InFlight == 1;
        try
        {
            _producer!.Produce(new TopicPartition(_options.Topic, record.Partition), message, report =>
                _acks.Enqueue(new Acknowledgement(progress, offset, generation, report.Error, bytes, report.Error.IsError ? report.Message : null, sentAlone, NotQueued: false)));
            _inFlightBytes += bytes;
        }
        catch (ProduceException<byte[], byte[]> refused)
        {
            // Refused before it was queued: too large for good, or a full queue, which passes; that one is re-sent from the
            // last acknowledged record after the backoff, as after a failed delivery. Loud, and the replicator keeps running.
            // Answered at the next drain like a failed delivery, so its dead letter is awaited with the others'.
            _acks.Enqueue(new Acknowledgement(progress, offset, generation, refused.Error, 0, message, SentAlone: true, NotQueued: true));
        }
    }

    private void DrainAcknowledgements() => DrainAcknowledgements(DeadLetterTimeout);

    /// <param name="deadLetterWait">How long the refused records' dead letters get, all of them together.</param>
    private void DrainAcknowledgements(TimeSpan deadLetterWait)
    {
        List<Acknowledgement>? refused = null;
        while (_acks.TryDequeue(out var ack))
        {
            if (ack.Generation != _producerGeneration)
            {
                continue;
            }

            _inFlightBytes -= ack.Bytes;

            if (ack.Error.IsError)
            {
                (refused ??= []).Add(ack);
                continue;
            }

            Interlocked.Increment(ref _replicated);
            _metrics.Replicated(_options.Namespace, _options.RemoteRegion);
            if (_progress.TryGetValue(ack.Progress.Partition, out var current) && ReferenceEquals(current, ack.Progress))
            {
                current.Acknowledged(ack.Offset);
            }
        }

        if (refused is not null)
        {
            DeadLetterOrResend(refused, deadLetterWait);
        }
    }

    /// <summary>
    /// A record the remote will refuse on every attempt (too large for it, a record or timestamp it calls invalid) goes to
    /// this region's dead-letter topic, and counts as answered: re-sent, it blocked its partition for good, and the
    /// rewind after each failure re-sent every other partition's records with it. Its dead letter must be taken by the
    /// local cluster within <paramref name="wait"/>, so the commit never passes a record that is in neither region. Only
    /// a record refused alone is dead-lettered: one refused with others in flight may owe it to a neighbour in its batch,
    /// so they are all sent again, one at a time. Any other refusal, and a record whose dead letter failed or was not
    /// taken in time, is re-sent as before.
    /// </summary>
    private void DeadLetterOrResend(List<Acknowledgement> refused, TimeSpan wait)
    {
        var writes = new List<(Acknowledgement Ack, Task Written)>();
        var withBatch = new List<Acknowledgement>();
        foreach (var ack in refused)
        {
            if (RefusedRecordDeadLetters.IsForGood(ack.Error.Code) && !RefusedAlone(ack))
            {
                withBatch.Add(ack);
            }
            else if (_options.DeadLetterTopic is { } topic && ack.Refused is not null && RefusedRecordDeadLetters.IsForGood(ack.Error.Code))
            {
                _deadLetters ??= new RefusedRecordDeadLetters(_options, topic, _logger);
                writes.Add((ack, _deadLetters.Write(ack.Refused, ack.Error, ack.Progress.Partition.Partition.Value, ack.Offset)));
            }
            else
            {
                ProduceFailed(ack.Progress.Partition.Partition.Value, ack.Offset, ack.Error);
            }
        }

        if (withBatch.Count > 0)
        {
            ResendAlone(withBatch);
        }

        if (writes.Count == 0)
        {
            return;
        }

        RefusedRecordDeadLetters.AwaitAll(writes.Select(w => w.Written), wait, _stop.Token);
        foreach (var (ack, written) in writes)
        {
            var partition = ack.Progress.Partition.Partition.Value;
            if (!written.IsCompletedSuccessfully)
            {
                var reason = written.Exception?.InnerException?.Message ?? $"not taken within {wait.TotalSeconds:0.#} s";
                LogDeadLetterFailed(_logger, _options.GroupId, ack.Offset, _options.Topic, partition, _deadLetters!.Topic, reason);
                ProduceFailed(partition, ack.Offset, ack.Error);
                continue;
            }

            ack.Progress.DeadLettered(ack.Offset);
            Interlocked.Increment(ref _deadLettered);
            _metrics.Refused(_options.Namespace, _options.RemoteRegion);
            _metrics.DeadLettered(_options.Namespace, DeadLetterReasons.Permanent);
            LogDeadLettered(_logger, _options.GroupId, ack.Offset, _options.Topic, partition, _options.RemoteRegion, ack.Error.Reason, _deadLetters!.Topic);
        }
    }

    // Refused by the client before it was queued: about this record only. Otherwise, sent with none of its partition in
    // flight, and none sent after it still unanswered: its batch was itself. A record refused in the same batch is still
    // unanswered here, since a batch's answers are read in order.
    private static bool RefusedAlone(Acknowledgement ack) => ack.NotQueued || (ack.SentAlone && ack.Progress.InFlight == 1);

    /// <summary>
    /// The remote refused batches these records were in, perhaps for a neighbour's sake: each partition is read again
    /// from its first unanswered record (the producer rebuilt, as after any failure), every record up to its last
    /// refused one sent alone, so the remote judges each by itself. The records stay unanswered, and the commit waits.
    /// </summary>
    private void ResendAlone(List<Acknowledgement> refused)
    {
        foreach (var partition in refused.GroupBy(a => a.Progress))
        {
            var first = partition.Min(a => a.Offset);
            var last = partition.Max(a => a.Offset);
            partition.Key.SendAloneThrough(last);
            LogRefusedWithBatch(
                _logger, _options.GroupId, _options.RemoteRegion, partition.Count(), _options.Topic, partition.Key.Partition.Partition.Value, first, last, partition.First().Error.Reason);
        }

        _producerFailed = true;
    }

    /// <summary>
    /// A produce failed for good (with no message timeout that means a non-retriable or fatal
    /// error): drop the producer and everything it still holds, wait, and read again from the first
    /// unacknowledged record of each partition. Records acknowledged after it are sent again.
    /// </summary>
    private void Recover()
    {
        // Let the records of the other partitions the producer holds get their answer first: a failure that comes at
        // once (a partition the remote lacks) would otherwise drop, every time, the acknowledgements still on their way
        // from a region a round trip away, and no partition would ever be committed. Bounded: a region that is away
        // answers nothing, and what is unanswered is sent again like before.
        _producer!.Flush(CloseFlushTimeout);
        DrainAcknowledgements();
        CommitProgress(_progress.Keys.ToList());
        ReplaceProducer(_options.RetryBackoff);
    }

    /// <summary>
    /// Drops the producer and everything it still holds (its late acknowledgements are ignored by generation), and reads
    /// each partition still assigned again from its first unacknowledged record.
    /// </summary>
    private void ReplaceProducer(TimeSpan backoff)
    {
        _producerGeneration++;
        _producer!.Dispose();
        _stop.Token.WaitHandle.WaitOne(backoff);
        _producer = BuildProducer();
        _producerFailed = false;
        _inFlightBytes = 0;
        foreach (var (partition, progress) in _progress)
        {
            _consumer!.Seek(new TopicPartitionOffset(partition, progress.Rewind()));
        }

        LogRewound(_logger, _options.GroupId);
    }

    private void ApplyBackPressure(IConsumer<byte[], byte[]> consumer)
    {
        var inFlight = _progress.Values.Sum(p => p.InFlight);
        if (!_paused && (inFlight >= _options.MaxInFlight || _inFlightBytes >= _options.MaxInFlightBytes))
        {
            consumer.Pause(consumer.Assignment);
            _paused = true;
        }
        else if (_paused && inFlight <= _options.MaxInFlight / 2 && _inFlightBytes <= _options.MaxInFlightBytes / 2)
        {
            consumer.Resume(consumer.Assignment.Where(p => !(_progress.TryGetValue(p, out var progress) && progress.Held)).ToList());
            _paused = false;
        }
    }

    /// <summary>A partition sending one record at a time reads its next one once the remote has answered the last.</summary>
    private void ResumeAnswered(IConsumer<byte[], byte[]> consumer)
    {
        if (_paused)
        {
            return;
        }

        var answered = _progress.Values.Where(p => p.Held && p.InFlight == 0).ToList();
        if (answered.Count == 0)
        {
            return;
        }

        consumer.Resume(answered.Select(p => p.Partition).ToList());
        foreach (var progress in answered)
        {
            progress.Held = false;
        }
    }

    private void CommitProgress(IReadOnlyCollection<TopicPartition> partitions)
    {
        var offsets = partitions
            .Where(p => _progress.TryGetValue(p, out var progress) && progress.HasUncommitted)
            .Select(p => new TopicPartitionOffset(p, _progress[p].Committable))
            .ToList();
        if (offsets.Count == 0)
        {
            return;
        }

        try
        {
            _consumer!.Commit(offsets);
            foreach (var offset in offsets)
            {
                _progress[offset.TopicPartition].MarkCommitted(offset.Offset.Value);
            }
        }
        catch (KafkaException e)
        {
            // Not fatal: the offsets stay uncommitted and the next commit covers them.
            LogCommitFailed(_logger, _options.GroupId, e.Error.Reason);
        }
    }

    /// <summary>
    /// Hands partitions over to their next owner, which reads on from their last commit. Their records still in the
    /// producer must neither be sent twice nor reach the remote after the new owner's copies (an older record after a
    /// newer one): revoked partitions wait (bounded) for their answers and commit them; whatever is still unanswered
    /// then, or belongs to lost partitions, is dropped with the producer, so only the new owner sends it.
    /// </summary>
    private void OnRevoked(IReadOnlyCollection<TopicPartition> partitions, bool lost)
    {
        var leaving = partitions.Where(_progress.ContainsKey).Select(p => _progress[p]).ToList();
        if (!lost)
        {
            AwaitAnswers(leaving, RevocationFlushTimeout);
            CommitProgress(partitions);
        }

        var unanswered = leaving.Any(p => p.InFlight > 0);
        foreach (var partition in partitions)
        {
            _progress.Remove(partition);
        }

        // librdkafka keeps an application's pause on a partition through a rebalance: given back to this instance, one
        // paused here would never be read again, since nothing here remembers pausing it.
        if (_paused || leaving.Any(p => p.Held))
        {
            _consumer!.Resume(partitions);
        }

        _paused = false;
        if (unanswered)
        {
            LogHandedOverUnanswered(_logger, _options.GroupId, leaving.Sum(p => p.InFlight));
            ReplaceProducer(TimeSpan.Zero);
        }
    }

    private void AwaitAnswers(IReadOnlyCollection<PartitionProgress> partitions, TimeSpan timeout)
    {
        // One bound for the whole wait, dead letters included: the group waits for this member.
        var started = TimeProvider.System.GetTimestamp();
        TimeSpan Left() => timeout - TimeProvider.System.GetElapsedTime(started);
        DrainAcknowledgements(Left());
        while (!_producerFailed && partitions.Any(p => p.InFlight > 0) && Left() > TimeSpan.Zero)
        {
            _producer!.Flush(AnswerPollInterval);
            DrainAcknowledgements(Left());
        }
    }

    private IConsumer<byte[], byte[]> BuildConsumer() =>
        new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = _options.LocalBootstrapServers,
            GroupId = _options.GroupId,
            ClientId = $"{_options.GroupId}-consumer",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.RoundRobin,
        })
        .SetPartitionsAssignedHandler((_, _) => _paused = false)
        .SetPartitionsRevokedHandler((_, revoked) => OnRevoked(revoked.Select(p => p.TopicPartition).ToList(), lost: false))
        .SetPartitionsLostHandler((_, lost) => OnRevoked(lost.Select(p => p.TopicPartition).ToList(), lost: true))
        .SetErrorHandler((_, error) => LogClientError(_logger, _options.GroupId, "consumer", error.Reason))
        .Build();

    private IProducer<byte[], byte[]> BuildProducer() =>
        new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = _options.RemoteBootstrapServers,
            ClientId = $"{_options.GroupId}-producer",
            EnableIdempotence = true,
            Acks = Acks.All,
            // Never give up on a record while the region is away: the idempotent producer keeps
            // retrying in order, and the committed offset waits for it.
            MessageTimeoutMs = 0,
            LingerMs = 5,
            QueueBufferingMaxMessages = Math.Max(_options.MaxInFlight * 2, 1000),
            // A replicated record is the local one plus its origin headers: it must fit although the local one did.
            MessageMaxBytes = RecordLimits.ProducerMaxMessageBytes,
        })
        .SetErrorHandler((_, error) =>
        {
            if (error.IsFatal)
            {
                _producerFailed = true;
            }

            LogClientError(_logger, _options.GroupId, "producer", error.Reason);
        })
        .Build();

    [LoggerMessage(Level = LogLevel.Information, Message = "Replicating namespace {Namespace} from region {Local} to region {Remote} (group {Group}).")]
    private static partial void LogStarted(ILogger logger, string @namespace, string local, string remote, string group);

    /// <summary>Logs a record the remote refused, naming its partition (and, for a partition the remote topic lacks, why), and has the loop recover.</summary>
    private void ProduceFailed(int partition, long offset, Error error)
    {
        if (error.Code == ErrorCode.Local_UnknownPartition)
        {
            LogRemoteLacksPartition(_logger, _options.GroupId, offset, _options.Topic, partition, _options.RemoteRegion, _options.Namespace);
        }
        else
        {
            LogProduceFailed(_logger, _options.GroupId, offset, _options.Topic, partition, error.Reason);
        }

        _producerFailed = true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replicator {Group}: produce of offset {Offset} of {Topic}/{Partition} failed ({Reason}); re-sending from the last acknowledged record.")]
    private static partial void LogProduceFailed(ILogger logger, string group, long offset, string topic, int partition, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replicator {Group}: produce of offset {Offset} of {Topic}/{Partition} failed: region {Remote}'s topic {Topic} has no partition {Partition}. Namespace {Namespace} needs the same partition count in every region; the partition is retried, and not replicated until it does.")]
    private static partial void LogRemoteLacksPartition(ILogger logger, string group, long offset, string topic, int partition, string remote, string @namespace);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replicator {Group}: region {Remote} refused offset {Offset} of {Topic}/{Partition} for good ({Reason}); written to dead-letter topic {DeadLetterTopic}, and the partition moves on. Redrive it once the remote takes it.")]
    private static partial void LogDeadLettered(ILogger logger, string group, long offset, string topic, int partition, string remote, string reason, string deadLetterTopic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replicator {Group}: region {Remote} refused {Count} record(s) of {Topic}/{Partition} (offsets {First} to {Last}) with the batch they were sent in ({Reason}); they are sent again one at a time, and only a record refused alone is dead-lettered.")]
    private static partial void LogRefusedWithBatch(ILogger logger, string group, string remote, int count, string topic, int partition, long first, long last, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replicator {Group}: offset {Offset} of {Topic}/{Partition}, refused by the remote for good, could not be written to dead-letter topic {DeadLetterTopic} ({Reason}); it is re-sent.")]
    private static partial void LogDeadLetterFailed(ILogger logger, string group, long offset, string topic, int partition, string deadLetterTopic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replicator {Group}: {Count} record(s) of partitions handed over to another owner were still unanswered by the remote; dropped with the producer, so only the new owner sends them.")]
    private static partial void LogHandedOverUnanswered(ILogger logger, string group, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replicator {Group}: a record of origin region '{Origin}' is not replicated: namespace {Namespace} lists regions [{Regions}], and only records from this region ({Local}) are sent on. Check the ingress's --region. {Count} such record(s) so far.")]
    private static partial void LogUnknownOrigin(ILogger logger, string group, string origin, string @namespace, string regions, string local, long count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replicator {Group}: offsets {First} to {Last} of {Topic}/{Partition} ({Count}) were removed by the topic's retention before they were read; those that originated in this region never reached region {Remote}. Their writes are lost there unless replayed from elsewhere; keep retention.ms above the longest time a region may be away.")]
    private static partial void LogExpiredUnread(ILogger logger, string group, long first, long last, string topic, int partition, long count, string remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replicator {Group}: rewound to the first unacknowledged record of each partition.")]
    private static partial void LogRewound(ILogger logger, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replicator {Group}: consume failed ({Reason}).")]
    private static partial void LogConsumeFailed(ILogger logger, string group, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replicator {Group}: commit failed ({Reason}); the next commit covers it.")]
    private static partial void LogCommitFailed(ILogger logger, string group, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Replicator {Group}: {Client} error: {Reason}.")]
    private static partial void LogClientError(ILogger logger, string group, string client, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replicator {Group} stopped on an unexpected error; its progress stays at the last commit.")]
    private static partial void LogCrashed(ILogger logger, Exception error, string group);

    // Refused: the record, kept only when the remote refused it, for its dead letter. SentAlone: no other record of its
    // partition was in flight when it was produced. NotQueued: the producer refused it before it was queued.
    private readonly record struct Acknowledgement(
        PartitionProgress Progress, long Offset, int Generation, Error Error, int Bytes, Message<byte[], byte[]>? Refused, bool SentAlone, bool NotQueued);
}
