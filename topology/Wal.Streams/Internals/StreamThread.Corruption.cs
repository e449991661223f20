using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>
/// The recovery of a task whose store RocksDB found corrupt after it opened (a damaged block met by a get, a range or a
/// compaction). As Kafka Streams treats a corrupted task, it closes without committing, the store is wiped, and the task
/// starts again from its inputs' last committed offsets with the store restored from its changelog's beginning; the
/// thread and its other tasks go on. The records processed since the last commit are processed again (at-least-once).
/// </summary>
/// <remarks>
/// Failing the thread instead stopped every task on it, and the next start reopened the store, which opened fine
/// (RocksDB reads a data block only when asked for it) and failed again at the same block. Only under at-least-once:
/// under exactly-once the thread's one transaction holds every task's output, and the thread fails, which aborts it;
/// its next start wipes the store anyway, as exactly-once does with every store not closed cleanly. A store without a
/// changelog has nothing to rebuild from, and fails the thread too.
/// </remarks>
internal sealed partial class StreamThread
{
    private readonly List<(StreamTask Task, StoreEntry Store, TaskCorruptedException Error)> _corrupted = [];

    /// <summary>The logged store of <paramref name="task"/> that <paramref name="failure"/> found corrupt, if one did and it can be rebuilt.</summary>
    private (StoreEntry Store, TaskCorruptedException Error)? RebuildableCorruption(StreamTask task, Exception failure)
    {
        if (_exactlyOnce)
        {
            return null;
        }

        // The store's exception arrives wrapped by the task (and perhaps by a processor).
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is TaskCorruptedException { StoreName: { } store } corrupted)
            {
                return task.State.LoggedEntry(store) is { } entry ? (entry, corrupted) : null;
            }
        }

        return null;
    }

    // Called once the loop over the tasks is done, since reviving changes the thread's task list.
    private void ReviveCorruptedTasks()
    {
        if (_corrupted.Count == 0)
        {
            return;
        }

        foreach (var (task, store, error) in _corrupted)
        {
            Revive(task, store, error);
        }

        _corrupted.Clear();
    }

    private void Revive(StreamTask task, StoreEntry store, TaskCorruptedException error)
    {
        // Read before anything is closed: without them the records to process again are unknown, and the thread fails as it did before.
        var restartAt = CommittedPositions(task, error);
        Log.CorruptTaskRevived(_logger, error, Name, store.Builder.Name, task.Id);
        CloseTasks([task], clean: false);
        task.State.WipeClosed(store);
        foreach (var position in restartAt)
        {
            _consumer.Seek(position);
        }

        // Created again by the loop's pass over deferred tasks, as a task waiting for its stores is, its inputs paused
        // meanwhile, and not before the retry interval: the changelog partition its restore just gave back to the
        // restore consumer would otherwise be taken again within the round trip of that stop, which librdkafka 2.0.2
        // can answer by aborting the process (see ChangelogReader).
        _consumer.Pause(task.Inputs);
        _deferred.Add(task.Id, task.Inputs);
        _deferredTriedAt = _time.GetTimestamp();
    }

    private List<TopicPartitionOffset> CommittedPositions(StreamTask task, TaskCorruptedException error)
    {
        List<TopicPartitionOffset> committed;
        try
        {
            committed = _consumer.Committed(task.Inputs, CommitTimeout);
        }
        catch (KafkaException e)
        {
            throw new StreamsException($"Task {task.Id} cannot be restarted after its store was found corrupt: its inputs' committed offsets are unknown ({e.Message}).", error);
        }

        return committed.Select(c => c.Offset != Offset.Unset ? c : new TopicPartitionOffset(c.TopicPartition, StartWithoutCommit(task, c.TopicPartition, error)))
            .ToList();
    }

    /// <summary>
    /// Where an input without a committed offset starts again: where the group consumer began it, the first record or end
    /// of partition it returned since the assignment. Sought to where its auto.offset.reset points now instead, under
    /// <c>latest</c> the revived task skipped every record from that start to the input's end, the failed one among them,
    /// though none was committed. Before the consumer returned either, the setting is all there is to go by.
    /// </summary>
    private Offset StartWithoutCommit(StreamTask task, TopicPartition input, TaskCorruptedException error) =>
        _inputStarts.TryGetValue((input.Topic, input.Partition.Value), out var start) ? start
            : _inputStartWithoutCommit
            ?? throw new StreamsException($"Task {task.Id} cannot be restarted after its store was found corrupt: input {input} has no committed offset, and auto.offset.reset is error.", error);
}
