using Confluent.Kafka;
using Wal.RocksDb;

namespace Wal.Streams.Internals;

/// <summary>The rebalance side of a stream thread: tasks are created on assignment and committed and closed on revocation.</summary>
internal sealed partial class StreamThread
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(10);

    // Every topic's partition count, read once per assignment by the changelog check (see ReadPartitionCounts).
    private Dictionary<string, int>? _partitionCounts;

    private ConsumerConfig GroupConsumerConfig()
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = _config.BootstrapServers,
            GroupId = _config.ApplicationId,
            ClientId = Name + "-consumer",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // Range keeps partition p of every co-partitioned topic on the same member, so each task gets all its inputs.
            // It is eager, which librdkafka's mock cluster rebalances reliably (see DESIGN.md).
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
            SessionTimeoutMs = (int)_config.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = (int)_config.HeartbeatInterval.TotalMilliseconds,
            MaxPollIntervalMs = (int)_config.MaxPollInterval.TotalMilliseconds,
            IsolationLevel = _exactlyOnce ? IsolationLevel.ReadCommitted : IsolationLevel.ReadUncommitted,
            // Tells a task when it has read all its input (IProcessorContext.InputCaughtUp).
            EnablePartitionEof = true,
        };
        Apply(config, _config.AdditionalClientConfig, _config.AdditionalConsumerConfig);
        return config;
    }

    private IConsumer<byte[], byte[]> BuildConsumer(ConsumerConfig config)
    {
        return new ConsumerBuilder<byte[], byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) => Guard(() => OnAssigned(partitions)))
            .SetPartitionsRevokedHandler((_, partitions) => Guard(() => OnRevoked(partitions.Select(p => p.TopicPartition).ToList())))
            .SetPartitionsLostHandler((_, partitions) => Guard(() => OnLost(partitions.Select(p => p.TopicPartition).ToList())))
            .Build();
    }

    private IConsumer<byte[]?, byte[]?> BuildRestoreConsumer()
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = _config.BootstrapServers,
            // Never joins the group (only Assign) and never commits: the group id only satisfies the client.
            GroupId = _config.ApplicationId + "-restore",
            ClientId = Name + "-restore-consumer",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            // Restoring needs keys, values, topic and offset only: skip marshaling headers and timestamps.
            ConsumeResultFields = "topic",
            IsolationLevel = _exactlyOnce ? IsolationLevel.ReadCommitted : IsolationLevel.ReadUncommitted,
        };
        Apply(config, _config.AdditionalClientConfig, _config.AdditionalConsumerConfig);
        // After the additional settings, which are the group consumer's too: a position out of the changelog must reach
        // ChangelogReader as an error, which wipes the store and restores it from the beginning. Reset to the end (the
        // default) or to the beginning, the store silently missed what lay between.
        config.AutoOffsetReset = AutoOffsetReset.Error;
        return new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
    }

    /// <summary>
    /// The stream producer's <c>linger.ms</c>: Kafka Streams' own producer default. Changelog records come one per store
    /// write; at 5 ms the producer's broker thread woke, built and sent a request every few ms, and in the delay-queue
    /// profile used about 13 % as much CPU as the stream thread (under 7 % at 100 ms). Commits do not wait for it:
    /// librdkafka's flush sends at once, ignoring linger.ms (KafkaRecordCollectorTests). Records to sink topics may wait
    /// up to this long before they leave.
    /// </summary>
    internal const int ProducerLingerMs = 100;

    private IProducer<byte[]?, byte[]?> BuildProducer(int index, string instanceId)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = _config.BootstrapServers,
            ClientId = Name + "-producer",
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = ProducerLingerMs,
            // The partitioner of Java clients, so keys land where Java producers and Kafka Streams put them.
            Partitioner = Partitioner.Murmur2Random,
            DeliveryReportFields = "none",
        };
        if (_exactlyOnce)
        {
            config.TransactionalId = $"{_config.ApplicationId}-{instanceId}-{index}";
            config.TransactionTimeoutMs = (int)_config.TransactionTimeout.TotalMilliseconds;
        }

        Apply(config, _config.AdditionalClientConfig, _config.AdditionalProducerConfig);
        return new ProducerBuilder<byte[]?, byte[]?>(config).Build();
    }

    private static void Apply(ClientConfig config, IReadOnlyDictionary<string, string> common, IReadOnlyDictionary<string, string> specific)
    {
        foreach (var (key, value) in common.Concat(specific))
        {
            config.Set(key, value);
        }
    }

    private void Guard(Action handler)
    {
        try
        {
            handler();
        }
        catch (Exception e)
        {
            // Rethrown by the loop after Consume returns: a failure inside librdkafka's callback must not be swallowed.
            _handlerError ??= e;
        }
    }

    private void OnAssigned(List<TopicPartition> partitions)
    {
        Log.Assigned(_logger, Name, string.Join(", ", partitions));
        _assigned = true;
        SetState(StreamThreadState.PartitionsAssigned);
        _partitionCounts = null;
        foreach (var partition in partitions)
        {
            // Read again from its committed offset, or reset: where an earlier assignment began it no longer says.
            _inputStarts.Remove((partition.Topic, partition.Partition.Value));
        }

        foreach (var group in partitions.GroupBy(p => TaskIdOf(p)))
        {
            if (_tasks.ContainsKey(group.Key) || _deferred.ContainsKey(group.Key))
            {
                continue;
            }

            _changelogCheck.Check(SubtopologyOf(group.Key), group.Key.Partition);
            var inputs = group.ToHashSet();
            if (TryCreateTask(group.Key, inputs) is not { } task)
            {
                _deferred.Add(group.Key, inputs);
                _pendingPauses.AddRange(inputs);
            }
            else if (!task.IsRunning)
            {
                _pendingPauses.AddRange(inputs);
            }
        }

        UpdateRunningState();
    }

    /// <summary>
    /// Creates and registers a task; null while another thread of this instance still holds its
    /// stores. That thread owned the task until the group moved it (it fell out of the group, past
    /// max.poll.interval, and has not run its revocation yet): it lets go at its next poll. As
    /// Kafka Streams does, the task waits, its partitions paused, and is tried again each pass;
    /// failing for good here took the healthy thread, and the instance, down.
    /// </summary>
    private StreamTask? TryCreateTask(TaskId id, IReadOnlySet<TopicPartition> inputs)
    {
        StreamTask task;
        try
        {
            task = new StreamTask(id, SubtopologyOf(id), inputs, _config, _time, _collector, _logger);
        }
        catch (Exception e) when (HeldByAnotherThread(e) is { } held)
        {
            Log.TaskStoresLocked(_logger, Name, id, held.Message);
            return null;
        }

        _tasks.Add(task.Id, task);
        foreach (var partition in inputs)
        {
            _taskByPartition[(partition.Topic, partition.Partition.Value)] = task;
        }

        if (_reader.Register(task))
        {
            StartRunning(task);
        }

        return task;
    }

    // RocksDB's status text is all it says. Only this process's own hold counts: another process
    // holding the store (two instances on one state directory) is a mistake to fail on, and a
    // crashed one's lock went with it.
    private static RocksDbException? HeldByAnotherThread(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is RocksDbException rocks && rocks.Message.Contains("lock hold by current process", StringComparison.OrdinalIgnoreCase))
            {
                return rocks;
            }
        }

        return null;
    }

    // The tasks waiting for their stores: each pass tries them again, and one that opens goes on as
    // an assigned task does (its partitions stay paused while it restores).
    private void CreateDeferredTasks()
    {
        if (_deferred.Count == 0 || _time.GetElapsedTime(_deferredTriedAt) < DeferredRetryInterval)
        {
            return;
        }

        _deferredTriedAt = _time.GetTimestamp();
        foreach (var (id, inputs) in _deferred.ToList())
        {
            if (TryCreateTask(id, inputs) is { } task)
            {
                _deferred.Remove(id);
                if (task.IsRunning)
                {
                    _consumer.Resume(inputs);
                }
            }
        }

        UpdateRunningState();
    }

    // A deferred task's partitions are paused only at the end of the poll that assigned them, and
    // Consume goes on waiting for records after the assignment: a record fetched for one before
    // then was dropped, and the pause keeps the fetch position past it (librdkafka resumes from
    // the last record returned), so the task, once created, never saw it and later commits
    // skipped it. The partition is sought back to it (which also discards what was prefetched
    // after it) and resumes from there.
    private bool RewoundForDeferredTask(ConsumeResult<byte[], byte[]> record)
    {
        if (record.IsPartitionEOF || !_deferred.Values.Any(inputs => inputs.Contains(record.TopicPartition)))
        {
            return false;
        }

        _consumer.Seek(record.TopicPartitionOffset);
        return true;
    }

    // A partition leaving in the poll that assigned it (a rebalance served within the same poll)
    // must not be paused at the end of that poll: librdkafka keeps the pause, and when the
    // partition came back to a task needing no restore nothing resumed it, so it was never
    // fetched again.
    private void DropPendingPauses(HashSet<TopicPartition> leaving) => _pendingPauses.RemoveAll(leaving.Contains);

    // Deferred tasks whose partitions went elsewhere are dropped, their partitions resumed.
    private void ForgetDeferred(HashSet<TopicPartition> leaving)
    {
        foreach (var (id, inputs) in _deferred.Where(d => d.Value.Overlaps(leaving)).ToList())
        {
            _deferred.Remove(id);
            ResumeLeaving(inputs);
        }
    }

    private void OnRevoked(List<TopicPartition> partitions)
    {
        Log.Revoked(_logger, Name, string.Join(", ", partitions));
        SetState(StreamThreadState.PartitionsRevoked);
        var revoked = partitions.ToHashSet();
        DropPendingPauses(revoked);
        ForgetDeferred(revoked);
        var affected = _tasks.Values.Where(t => t.Inputs.Overlaps(revoked)).ToList();
        if (affected.Count == 0)
        {
            return;
        }

        try
        {
            Commit(affected);
            CloseTasks(affected, clean: true);
        }
        catch (Exception e) when (e is KafkaException or StreamsException)
        {
            Log.CommitFailed(_logger, e, Name);
            try
            {
                // Under exactly-once the failed commit leaves the transaction open (abortable): the next
                // record would join it and fail, and the revoked tasks' output must not be committed later.
                if (_exactlyOnce)
                {
                    _collector.AbortTransaction(CommitTimeout);
                }
            }
            finally
            {
                CloseTasks(affected, clean: false);
            }
        }
    }

    private void OnLost(List<TopicPartition> partitions)
    {
        Log.Lost(_logger, Name, string.Join(", ", partitions));
        SetState(StreamThreadState.PartitionsRevoked);
        if (_exactlyOnce)
        {
            _collector.AbortTransaction(CommitTimeout);
        }

        var lost = partitions.ToHashSet();
        DropPendingPauses(lost);
        ForgetDeferred(lost);
        CloseTasks(_tasks.Values.Where(t => t.Inputs.Overlaps(lost)).ToList(), clean: false);
    }

    // librdkafka keeps an application's pause on a partition through a rebalance: a partition this
    // thread paused (a full buffer, a restore) and gets back later would stay paused under its new task.
    private void ResumeLeaving(IEnumerable<TopicPartition> inputs)
    {
        try
        {
            _consumer.Resume(inputs);
        }
        catch (KafkaException e)
        {
            Log.ResumeFailed(_logger, e, Name);
        }
    }

    /// <summary>
    /// A topic's partition count as the brokers reported it at this assignment (read anew at each: a topic grown since
    /// counts anew), or null when the topic does not exist or the look-up failed: the changelog check leaves that topic
    /// out rather than fail on it.
    /// </summary>
    private int? PartitionCount(string topic)
    {
        _partitionCounts ??= ReadPartitionCounts();
        return _partitionCounts.TryGetValue(topic, out var count) ? count : null;
    }

    // The whole cluster's metadata in one request, not each topic's by name: a broker that auto-creates the topics a
    // request names (librdkafka's mock cluster does, whatever allow.auto.create.topics says) created a changelog not yet
    // there with its default count, which the check then refused; and a topology of a hundred namespaces asked some four
    // hundred times inside the rebalance callback, each ask allowed the whole timeout.
    private Dictionary<string, int> ReadPartitionCounts()
    {
        try
        {
            // On the restore consumer, which is in no group. Built on the group consumer's handle, the admin client (whose
            // own thread polls that handle's queues) kept a thread stuck in a processor in the group past
            // max.poll.interval (StoreLockTests).
            return ClusterMetadata.Read(_restoreHandle, MetadataTimeout).Topics
                .Where(t => !t.Error.IsError && t.Partitions.Count > 0)
                .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
        }
        catch (KafkaException e)
        {
            Log.PartitionCountsUnknown(_logger, e, Name);
            return [];
        }
    }

    private TaskId TaskIdOf(TopicPartition partition)
    {
        var subtopology = _topology.SubtopologyOf(partition.Topic)
            ?? throw new StreamsException($"Assigned partition {partition} belongs to no source topic of the topology.");
        return new TaskId(subtopology.Name, partition.Partition.Value);
    }

    private Subtopology SubtopologyOf(TaskId id) =>
        _topology.SubtopologyNamed(id.Subtopology) ?? throw new StreamsException($"Task {id} names no sub-topology of the topology.");

    private void CloseTasks(IReadOnlyCollection<StreamTask> tasks, bool clean)
    {
        foreach (var task in tasks)
        {
            _reader.Unregister(task);
            _tasks.Remove(task.Id);
            if (task.PausedForBuffer || !task.IsRunning)
            {
                ResumeLeaving(task.Inputs);
            }

            foreach (var partition in task.Inputs)
            {
                _taskByPartition.Remove((partition.Topic, partition.Partition.Value));
            }

            try
            {
                // Under exactly-once the checkpoint is written only here, on a clean close (see TaskStateManager).
                task.Close(clean, writeCheckpoint: clean);
            }
            catch (Exception e) when (!clean)
            {
                Log.CloseDirtyFailed(_logger, e, task.Id);
            }
        }

        // Closed tasks' stores are this thread's no more.
        foreach (var task in tasks)
        {
            _taskStoreEntries.Remove(task.Id);
        }

        PublishStoreEntries();
    }

    private void CloseAllDirty()
    {
        try
        {
            if (_exactlyOnce && _collector.InTransaction)
            {
                _collector.AbortTransaction(CommitTimeout);
            }
        }
        catch (KafkaException)
        {
            // The process is leaving; an unaborted transaction times out on the broker.
        }

        CloseTasks(_tasks.Values.ToList(), clean: false);
    }
}
