using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Wal.Streams.Internals;

/// <summary>
/// One task: the processors of one sub-topology for one input partition (of each co-partitioned topic), its stores,
/// its buffered input, its punctuators and the offsets it has processed. Used by one thread at a time.
/// </summary>
internal sealed class StreamTask
{
    private readonly Queue<ConsumeResult<byte[], byte[]>> _buffer = new();
    // Keyed by topic and partition number: ConsumeResult.TopicPartition makes a new object per record.
    private readonly Dictionary<(string Topic, int Partition), long> _consumed = [];
    // The inputs whose end the consumer reported (a partition EOF) since their last record was added, with that end offset.
    private readonly Dictionary<(string Topic, int Partition), long> _inputsAtEnd = [];
    private readonly ProcessorTopology _topology;
    private readonly StreamsConfig _config;
    private readonly ILogger _logger;
    private bool _initialized;

    public StreamTask(TaskId id, Subtopology subtopology, IReadOnlySet<TopicPartition> inputs, StreamsConfig config, TimeProvider time, IRecordCollector collector, ILogger logger)
    {
        Id = id;
        Inputs = inputs;
        _config = config;
        _logger = logger;
        _topology = new ProcessorTopology(subtopology);
        Context = new TaskContext(id, config.ApplicationId, time, collector) { InputCaughtUp = () => _buffer.Count == 0 && _inputsAtEnd.Count == Inputs.Count };
        var directory = Path.Combine(config.ApplicationDirectory, id.ToString());
        State = new TaskStateManager(id, directory, config.ApplicationId, config.ProcessingGuarantee == ProcessingGuarantee.ExactlyOnce, logger);
        State.RegisterStores(subtopology.Stores, Context);
    }

    public TaskId Id { get; }

    public IReadOnlySet<TopicPartition> Inputs { get; }

    public TaskContext Context { get; }

    public TaskStateManager State { get; }

    public bool IsRunning => _initialized;

    public int Buffered => _buffer.Count;

    /// <summary>Whether the thread paused this task's partitions because it holds too many records (never while restoring).</summary>
    public bool PausedForBuffer { get; set; }

    /// <summary>True when records were processed (or a commit requested) since the last commit.</summary>
    public bool CommitNeeded { get; private set; }

    public void AddRecord(ConsumeResult<byte[], byte[]> record)
    {
        _buffer.Enqueue(record);
        _inputsAtEnd.Remove((record.Topic, record.Partition.Value));
    }

    /// <summary>The consumer reached the end of an input (at <paramref name="end"/>'s offset): every record it held then has been added.</summary>
    public void InputAtEnd(TopicPartitionOffset end)
    {
        if (Inputs.Contains(end.TopicPartition))
        {
            _inputsAtEnd[(end.Topic, end.Partition.Value)] = end.Offset.Value;
        }
    }

    /// <summary>
    /// Forgets each reported input end that records written since have overtaken (<paramref name="endNow"/> gives an
    /// input's end offset now, or null when it cannot be learnt). Called as the task starts running after a restore: the
    /// end can come in the poll that assigned the task, before its inputs were paused for the restore, and records written
    /// during the restore are fetched only after it. Kept, the end made the task caught up while they were unread, and a
    /// punctuator that gives up on missing input (Wal's mutation expiry) gave up on them.
    /// </summary>
    public void ForgetOvertakenInputEnds(Func<TopicPartition, long?> endNow)
    {
        foreach (var ((topic, partition), end) in _inputsAtEnd.ToList())
        {
            if (endNow(new TopicPartition(topic, partition)) is not { } now || now > end)
            {
                _inputsAtEnd.Remove((topic, partition));
            }
        }
    }

    /// <summary>Restoring is done: initialise the processors (which may schedule punctuators and read stores).</summary>
    public void InitializeTopology()
    {
        _topology.Init(Context);
        _initialized = true;
        State.Restored = true;
    }

    /// <summary>Processes up to <paramref name="max"/> buffered records, for at most about <paramref name="budget"/> (at least one record); returns how many.</summary>
    public async ValueTask<int> ProcessAsync(int max, TimeSpan budget)
    {
        var processed = 0;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (processed < max && (processed == 0 || System.Diagnostics.Stopwatch.GetElapsedTime(started) < budget) && _buffer.TryDequeue(out var raw))
        {
            await ProcessOneAsync(raw);
            processed++;
        }

        if (processed > 0)
        {
            StreamsMetrics.RecordsProcessed.Add(processed);
        }

        return processed;
    }

    public ValueTask<bool> MaybePunctuateStreamTimeAsync() =>
        Context.StreamTime < 0 ? new ValueTask<bool>(false) : PunctuateAsync(Context.StreamTimePunctuations, Context.StreamTime);

    public ValueTask<bool> MaybePunctuateWallClockAsync() => PunctuateAsync(Context.WallClockPunctuations, Context.WallClockMs);

    /// <summary>The offsets to commit: one past the last processed record of each input partition.</summary>
    public IEnumerable<TopicPartitionOffset> CommittableOffsets() => _consumed.Select(c => new TopicPartitionOffset(c.Key.Topic, c.Key.Partition, c.Value));

    public void FlushStores() => State.Flush();

    /// <summary>Starts flushing the stores without waiting; the next checkpoint waits for the flush (see <see cref="TaskStateManager.StartFlush"/>).</summary>
    public void StartFlushStores() => State.StartFlush();

    /// <summary>After a successful commit: checkpoint (at-least-once) and clear the commit-needed flag.</summary>
    public void PostCommit(bool writeCheckpoint)
    {
        if (writeCheckpoint)
        {
            State.Checkpoint(Context.Collector);
        }

        CommitNeeded = false;
        Context.CommitRequested = false;
    }

    /// <summary>Closes processors and stores. A clean close under exactly-once writes the checkpoint (the only time it does).</summary>
    public void Close(bool clean, bool writeCheckpoint)
    {
        try
        {
            if (_initialized)
            {
                _initialized = false;
                _topology.Close();
            }

            if (clean && writeCheckpoint)
            {
                // Waits for the stores, so the checkpoint is written now and not deferred past the close.
                State.Flush();
                State.Checkpoint(Context.Collector);
            }
        }
        finally
        {
            State.Close();
            _buffer.Clear();
        }
    }

    private async ValueTask ProcessOneAsync(ConsumeResult<byte[], byte[]> raw)
    {
        var timestamp = raw.Message.Timestamp.UnixTimestampMs;
        var metadata = new RecordMetadata(raw.Topic, raw.Partition.Value, raw.Offset.Value);
        Context.CurrentMetadata = metadata;
        Context.CurrentTimestamp = timestamp;
        Context.CurrentHeaders = raw.Message.Headers;
        if (timestamp > Context.StreamTime)
        {
            Context.StreamTime = timestamp;
        }

        var source = _topology.SourceFor(raw.Topic)
            ?? throw new StreamsException($"Task {Id} received a record of topic '{raw.Topic}', which none of its sources reads.");
        if (source.TryDeserialize(raw, timestamp, out var error))
        {
            try
            {
                await source.ForwardPendingAsync();
            }
            catch (Exception e) when (e is not TaskMigratedException)
            {
                throw new StreamsException(
                    $"Exception caught in process. taskId={Id}, source={source.Name}, topic={raw.Topic}, partition={raw.Partition.Value}, offset={raw.Offset.Value}: {e.Message}", e);
            }
        }
        else
        {
            HandleDeserializationError(raw, error!);
        }

        _consumed[(raw.Topic, raw.Partition.Value)] = raw.Offset.Value + 1;
        CommitNeeded = true;
    }

    private void HandleDeserializationError(ConsumeResult<byte[], byte[]> raw, Exception error)
    {
        StreamsMetrics.DeserializationErrors.Add(1);
        var handling = _config.DeserializationExceptionHandling;
        Log.DeserializationFailed(_logger, error, Id, raw.Topic, raw.Partition.Value, raw.Offset.Value, handling);
        if (handling == DeserializationExceptionHandling.LogAndFail)
        {
            throw new RecordDeserializationException(
                $"Record {raw.Topic}-{raw.Partition.Value}@{raw.Offset.Value} of task {Id} failed to deserialize and DeserializationExceptionHandling is LogAndFail: {error.Message}",
                error)
            { Topic = raw.Topic, Partition = raw.Partition.Value, Offset = raw.Offset.Value };
        }

        var headers = new Headers();
        foreach (var header in raw.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        headers.Add(DeadLetterHeaders.Topic, Encoding.UTF8.GetBytes(raw.Topic));
        headers.Add(DeadLetterHeaders.Partition, Encoding.UTF8.GetBytes(raw.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.Offset, Encoding.UTF8.GetBytes(raw.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterHeaders.TaskId, Encoding.UTF8.GetBytes(Id.ToString()));
        headers.Add(DeadLetterHeaders.ExceptionType, Encoding.UTF8.GetBytes(error.GetType().FullName ?? error.GetType().Name));
        headers.Add(DeadLetterHeaders.ExceptionMessage, Encoding.UTF8.GetBytes(error.Message));
        Context.Collector.Send(_config.EffectiveDeadLetterTopic, null, raw.Message.Key, raw.Message.Value, headers, raw.Message.Timestamp.UnixTimestampMs);
    }

    private async ValueTask<bool> PunctuateAsync(PunctuationQueue queue, long now)
    {
        Context.CurrentMetadata = null;
        Context.CurrentHeaders = null;
        Context.CurrentTimestamp = now;
        try
        {
            return await queue.MayPunctuateAsync(now);
        }
        catch (Exception e) when (e is not StreamsException)
        {
            throw new StreamsException($"Exception caught while punctuating task {Id}: {e.Message}", e);
        }
    }
}
