using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Wal.Streams.Internals;

/// <summary>
/// One stream thread: a group consumer, a producer, a changelog reader and the tasks of the partitions assigned to it.
/// Its loop: poll → restore → process a batch per task → punctuate → commit when due.
/// </summary>
/// <remarks>
/// The loop awaits processors (which may do I/O), so it runs on the thread pool; consumer polls block for at most
/// <see cref="StreamsConfig.PollTimeout"/>, and only when no task has buffered work. Rebalance callbacks run inside
/// <c>Consume</c>, on this loop, never concurrently with processing.
/// </remarks>
internal sealed partial class StreamThread : IDisposable
{
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(30);

    private readonly Topology _topology;
    private readonly StreamsConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action _onStateChange;
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly KafkaRecordCollector _collector;
    private readonly ChangelogReader _reader;
    private readonly ChangelogPartitionCheck _changelogCheck;
    private readonly Handle _restoreHandle;
    private readonly Dictionary<TaskId, StreamTask> _tasks = [];
    // Keyed by topic and partition number, not TopicPartition: ConsumeResult.TopicPartition makes a new object per record.
    private readonly Dictionary<(string Topic, int Partition), StreamTask> _taskByPartition = [];
    private static readonly TimeSpan DeferredRetryInterval = TimeSpan.FromMilliseconds(100);
    private readonly List<TopicPartition> _pendingPauses = [];
    // Tasks assigned while another thread of this instance still held their stores (see TryCreateTask).
    private readonly Dictionary<TaskId, IReadOnlySet<TopicPartition>> _deferred = [];
    private long _deferredTriedAt;
    private readonly bool _exactlyOnce;
    // Where the group consumer starts an input without a committed offset (its auto.offset.reset); null: nowhere.
    private readonly Offset? _inputStartWithoutCommit;
    // Where the group consumer began each input since its assignment: the first record or end of partition it returned.
    // A revived task's input without a committed offset goes back there (see CommittedPositions).
    private readonly Dictionary<(string Topic, int Partition), Offset> _inputStarts = [];
    private volatile bool _shutdownRequested;
    private volatile bool _commitOnShutdown = true;
    // Each store's entries over this thread's running tasks, as counted at its last commit: the gauge reads them from
    // another thread, where a store could be closing under it. Counted only at a commit, right after the stores'
    // flush applied their pending writes: a RocksDB store's count applies them first, and a write that failed there
    // would be lost to a gauge that cannot throw. Kept per task, so a closed task's counts leave without counting.
    private readonly Dictionary<TaskId, (string Store, long Count)[]> _taskStoreEntries = [];
    private volatile IReadOnlyDictionary<string, long> _storeEntries = new Dictionary<string, long>();
    private bool _assigned;
    private Exception? _handlerError;

    public StreamThread(int index, string instanceId, Topology topology, StreamsConfig config, TimeProvider time, ILogger logger, Action onStateChange)
    {
        Name = $"{config.ApplicationId}-{instanceId}-StreamThread-{index}";
        _topology = topology;
        _config = config;
        _time = time;
        _logger = logger;
        _onStateChange = onStateChange;
        _exactlyOnce = config.ProcessingGuarantee == ProcessingGuarantee.ExactlyOnce;
        var consumerConfig = GroupConsumerConfig();
        _inputStartWithoutCommit = OffsetResetPolicy.StartWithoutCommit(consumerConfig);
        _consumer = BuildConsumer(consumerConfig);
        _collector = new KafkaRecordCollector(BuildProducer(index, instanceId), _exactlyOnce);
        var restoreConsumer = BuildRestoreConsumer();
        _restoreHandle = restoreConsumer.Handle;
        _reader = new ChangelogReader(restoreConsumer, logger);
        _changelogCheck = new ChangelogPartitionCheck(config.ApplicationId, PartitionCount);
        StreamsMetrics.Track(this);
    }

    public string Name { get; }

    public StreamThreadState State { get; private set; } = StreamThreadState.Created;

    public Exception? Error { get; private set; }

    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start() => Completion = Task.Run(RunAsync);

    /// <summary>Records fetched for this thread's tasks and not yet processed; read it on this thread (from a processor).</summary>
    internal int Buffered => _tasks.Values.Sum(t => t.Buffered);

    /// <summary>Asks the loop to stop after its current iteration; with <paramref name="commit"/> false it leaves without committing (a simulated crash).</summary>
    public void RequestShutdown(bool commit)
    {
        _commitOnShutdown = commit;
        _shutdownRequested = true;
    }

    /// <summary>Each store's entries over this thread's running tasks, as of its last commit.</summary>
    public IReadOnlyDictionary<string, long> StoreEntries => _storeEntries;

    public void Dispose()
    {
        StreamsMetrics.Untrack(this);
        _reader.Dispose();
        _collector.Dispose();
        _consumer.Dispose();
    }

    private async Task RunAsync()
    {
        try
        {
            SetState(StreamThreadState.Starting);
            if (_exactlyOnce)
            {
                _collector.Producer.InitTransactions(CommitTimeout);
            }

            _consumer.Subscribe(_topology.SourceTopics);
            await LoopAsync();
            Shutdown();
            SetState(StreamThreadState.Dead);
        }
        catch (Exception e)
        {
            Error = e;
            Log.ThreadFailed(_logger, e, Name);
            CloseAllDirty();
            LeaveGroup();
            SetState(StreamThreadState.Dead);
        }
    }

    private async Task LoopAsync()
    {
        var lastCommit = _time.GetTimestamp();
        while (!_shutdownRequested)
        {
            CreateDeferredTasks();
            Poll();
            RestoreBatch();
            await ProcessAsync();
            BoundBuffers();
            await PunctuateAsync();
            if (_time.GetElapsedTime(lastCommit) >= _config.EffectiveCommitInterval || _tasks.Values.Any(t => t.Context.CommitRequested))
            {
                CommitOrLog(_tasks.Values.ToList());
                lastCommit = _time.GetTimestamp();
            }
        }
    }

    private void Poll()
    {
        var busy = _reader.HasActive || _tasks.Values.Any(t => t.IsRunning && t.Buffered > 0);
        var timeout = busy ? TimeSpan.Zero : UntilNextWallClockPunctuation(_config.PollTimeout);
        var max = Math.Max(_config.MaxBatchPerTask, _config.MaxBatchPerTask * _tasks.Count);
        for (var polled = 0; polled < max; polled++)
        {
            ConsumeResult<byte[], byte[]> record;
            try
            {
                record = _consumer.Consume(timeout);
            }
            catch (ConsumeException e) when (e.Error.Code == ErrorCode.Local_MaxPollExceeded)
            {
                // This thread went longer than max.poll.interval between polls, so it left the group
                // and its partitions went to other members. As Kafka Streams does, its tasks are lost
                // (closed dirty, releasing their stores to the new owners); librdkafka rejoins the
                // group at the next poll. Rethrown, it killed the thread that had just recovered.
                Log.MaxPollExceeded(_logger, Name, e.Error.Reason);
                OnLost([.. _tasks.Values.SelectMany(t => t.Inputs), .. _deferred.Values.SelectMany(inputs => inputs)]);
                break;
            }

            ThrowHandlerError();
            timeout = TimeSpan.Zero;
            if (record is null)
            {
                break;
            }

            _inputStarts.TryAdd((record.Topic, record.Partition.Value), record.Offset);
            if (_deferred.Count > 0 && RewoundForDeferredTask(record))
            {
                continue;
            }

            if (!_taskByPartition.TryGetValue((record.Topic, record.Partition.Value), out var task))
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                task.InputAtEnd(record.TopicPartitionOffset);
                continue;
            }

            task.AddRecord(record);
        }

        if (_pendingPauses.Count > 0)
        {
            _consumer.Pause(_pendingPauses);
            _pendingPauses.Clear();
        }
    }

    /// <summary>
    /// How long an idle poll may block: at most <paramref name="cap"/>, and no longer than until the earliest wall-clock
    /// punctuation, which would otherwise fire up to a whole poll timeout late (punctuators run only between polls).
    /// </summary>
    private TimeSpan UntilNextWallClockPunctuation(TimeSpan cap)
    {
        long? next = null;
        foreach (var task in _tasks.Values)
        {
            if (task.IsRunning && task.Context.WallClockPunctuations.NextDueMs is { } due && (next is null || due < next))
            {
                next = due;
            }
        }

        if (next is not { } nextMs)
        {
            return cap;
        }

        var wait = TimeSpan.FromMilliseconds(Math.Max(0, nextMs - _time.GetUtcNow().ToUnixTimeMilliseconds()));
        return wait < cap ? wait : cap;
    }

    private void RestoreBatch()
    {
        if (!_reader.HasActive)
        {
            return;
        }

        var idle = !_tasks.Values.Any(t => t.IsRunning && t.Buffered > 0);
        foreach (var task in _reader.Restore(_config.MaxRestoreBatch, idle ? TimeSpan.FromMilliseconds(10) : TimeSpan.Zero))
        {
            task.ForgetOvertakenInputEnds(InputEndNow);
            StartRunning(task);
            _consumer.Resume(task.Inputs);
        }

        UpdateRunningState();
    }

    // A broker round trip, made only for an input whose end a restoring task was told of. Unknown (the
    // query failed), the end is forgotten: the task is not caught up until the consumer reports it again.
    private long? InputEndNow(TopicPartition input)
    {
        try
        {
            return _consumer.QueryWatermarkOffsets(input, CommitTimeout).High.Value;
        }
        catch (KafkaException e)
        {
            Log.InputEndUnknown(_logger, e, Name, input.ToString());
            return null;
        }
    }

    private async Task ProcessAsync()
    {
        foreach (var task in _tasks.Values)
        {
            if (_shutdownRequested)
            {
                // A close waits for this pass: against a target that never answers each task takes its processor's whole
                // wait, so finishing the pass held a close (a rebuild, every namespace stopped) for minutes. What is left
                // is uncommitted and read again by the next owner.
                break;
            }

            if (task.IsRunning && task.Buffered > 0)
            {
                try
                {
                    await task.ProcessAsync(_config.MaxBatchPerTask, _config.MaxTaskTimePerIteration);
                }
                catch (Exception e) when (RebuildableCorruption(task, e) is { } corruption)
                {
                    _corrupted.Add((task, corruption.Store, corruption.Error));
                }
            }
        }

        ReviveCorruptedTasks();
    }

    // A task holding MaxBufferedPerTask records stops fetching until it is down to half: the
    // backlog stays in Kafka, not in this process. Only running tasks: a restoring one is paused
    // already, and resumes when its restore ends.
    private void BoundBuffers()
    {
        foreach (var task in _tasks.Values)
        {
            if (!task.IsRunning)
            {
                continue;
            }

            if (!task.PausedForBuffer && task.Buffered >= _config.MaxBufferedPerTask)
            {
                _consumer.Pause(task.Inputs);
                task.PausedForBuffer = true;
            }
            else if (task.PausedForBuffer && task.Buffered <= _config.MaxBufferedPerTask / 2)
            {
                _consumer.Resume(task.Inputs);
                task.PausedForBuffer = false;
            }
        }
    }

    private async Task PunctuateAsync()
    {
        foreach (var task in _tasks.Values)
        {
            if (_shutdownRequested)
            {
                // As in ProcessAsync: a punctuation not run now runs in the next instance, from the stores it restores.
                break;
            }

            if (task.IsRunning)
            {
                try
                {
                    await task.MaybePunctuateStreamTimeAsync();
                    await task.MaybePunctuateWallClockAsync();
                }
                catch (Exception e) when (RebuildableCorruption(task, e) is { } corruption)
                {
                    _corrupted.Add((task, corruption.Store, corruption.Error));
                }
            }
        }

        ReviveCorruptedTasks();
    }

    private static void StartRunning(StreamTask task) => task.InitializeTopology();

    private void CommitOrLog(IReadOnlyCollection<StreamTask> tasks)
    {
        try
        {
            Commit(tasks, periodic: true);
        }
        catch (KafkaException e) when (!_exactlyOnce)
        {
            // At-least-once: a failed offset commit only means redelivery; the next commit (or the new owner) catches up.
            Log.CommitFailed(_logger, e, Name);
        }
    }

    /// <summary>
    /// Flush stores → flush the producer (every output acknowledged) → commit offsets → write checkpoints. A periodic
    /// at-least-once commit only starts the stores' flush and writes each checkpoint once its flush is done, at a later commit.
    /// </summary>
    private void Commit(IReadOnlyCollection<StreamTask> tasks, bool periodic = false)
    {
        var running = tasks.Where(t => t.IsRunning).ToList();
        foreach (var task in running)
        {
            if (periodic && !_exactlyOnce)
            {
                task.StartFlushStores();
            }
            else
            {
                task.FlushStores();
            }
        }

        var offsets = running.Where(t => t.CommitNeeded).SelectMany(t => t.CommittableOffsets()).ToList();
        if (_exactlyOnce)
        {
            if (_collector.InTransaction || offsets.Count > 0)
            {
                _collector.CommitTransaction(offsets, _consumer.ConsumerGroupMetadata, CommitTimeout);
            }
        }
        else
        {
            _collector.Flush();
            if (offsets.Count > 0)
            {
                _consumer.Commit(offsets);
            }
        }

        // Only a commit the group took says this thread still owns its tasks: a commit with no offsets asks nothing of it.
        if (offsets.Count > 0)
        {
            _collector.ConfirmAcknowledged();
        }

        foreach (var task in running)
        {
            task.PostCommit(writeCheckpoint: !_exactlyOnce);
        }

        StreamsMetrics.Commits.Add(1);
        foreach (var task in running)
        {
            _taskStoreEntries[task.Id] = [.. task.State.Entries.Select(e => (e.Builder.Name, e.Inner.ApproximateCount))];
        }

        PublishStoreEntries();
    }

    private void PublishStoreEntries() =>
        _storeEntries = _taskStoreEntries.Values
            .SelectMany(counts => counts)
            .GroupBy(c => c.Store, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(c => c.Count), StringComparer.Ordinal);

    private void Shutdown()
    {
        SetState(StreamThreadState.PendingShutdown);
        var tasks = _tasks.Values.ToList();
        if (_commitOnShutdown)
        {
            CloseTasks(tasks, clean: FinalCommit(tasks));
            _consumer.Close();
        }
        else
        {
            CloseAllDirty();
        }
    }

    /// <summary>
    /// The close's commit; false when it was refused under at-least-once, which costs what a refused periodic commit does
    /// (the records since the last commit are processed again after the restart), so the thread still ends NotRunning,
    /// not Error. The tasks then close dirty, as a revocation's failed commit closes them and as Kafka Streams closes
    /// every task of a failed commit: a refusal can mean the group gave the partitions to another member, whose changelog
    /// records then interleave with this one's, and a checkpoint at this thread's last acknowledged offset would make the
    /// next start here skip restoring the other's records below it. The checkpoint of the last commit stays, so the next
    /// start restores from there. Under exactly-once the refusal leaves the output in an uncommitted transaction: the
    /// thread fails, which aborts it and closes the tasks dirty.
    /// </summary>
    private bool FinalCommit(IReadOnlyCollection<StreamTask> tasks)
    {
        try
        {
            Commit(tasks);
            return true;
        }
        catch (KafkaException e) when (!_exactlyOnce)
        {
            Log.FinalCommitFailed(_logger, e, Name);
            return false;
        }
    }

    // A failed thread leaves the group at once, as Kafka Streams' does, so its partitions move to the
    // other instances now, not when its session or poll interval runs out. Its tasks are closed
    // already, so the revocation this runs finds nothing to commit.
    private void LeaveGroup()
    {
        try
        {
            _consumer.Close();
        }
        catch (KafkaException e)
        {
            Log.LeaveGroupFailed(_logger, e, Name);
        }
    }

    private void SetState(StreamThreadState state)
    {
        if (State == state)
        {
            return;
        }

        State = state;
        Log.ThreadState(_logger, Name, state);
        _onStateChange();
    }

    private void UpdateRunningState()
    {
        if (_assigned && !_reader.HasActive && _deferred.Count == 0 && State is StreamThreadState.PartitionsAssigned)
        {
            SetState(StreamThreadState.Running);
        }
    }

    private void ThrowHandlerError()
    {
        if (_handlerError is { } error)
        {
            _handlerError = null;
            throw error;
        }
    }
}
