using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.Streams.State;

namespace Wal.Streams.Internals;

/// <summary>
/// Restores tasks' stores from their changelogs with a consumer of its own (no group), a bounded batch per call so the
/// stream thread keeps polling its group consumer meanwhile. A task runs once all its changelogs reached their end offset,
/// as read when the task was assigned.
/// </summary>
/// <remarks>
/// The restore consumer's assignment changes by the partitions that start or finish (incremental assign and unassign); it is
/// never replaced whole. Replacing it stopped and restarted every partition still restoring at each change, and when two
/// changes came within a partition's stop round trip, librdkafka 2.0.2 stopped that partition twice and aborted the process
/// on the second reply (assertion <c>rktp_started</c> in <c>rd_kafka_assignment_partition_stopped</c>; its issue 5573).
/// A partition leaves only when its restore ends or its task closes, and comes back only with a later assignment of its task,
/// or, found out of range, after <see cref="RestartDelay"/> (see <see cref="Restart"/>).
/// </remarks>
internal sealed class ChangelogReader(IConsumer<byte[]?, byte[]?> consumer, ILogger logger) : IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(30);

    // Far longer than a partition's stop takes, so that a changelog taken out of the assignment is stopped before it is
    // put back (see the remarks), as the thread waits as long before it creates a revived task again.
    private static readonly TimeSpan RestartDelay = TimeSpan.FromMilliseconds(100);

    private readonly Dictionary<TopicPartition, Restoring> _active = [];
    private readonly Dictionary<StreamTask, long> _started = [];

    public bool HasActive => _active.Count > 0;

    /// <summary>Starts restoring <paramref name="task"/>'s changelogs; true if there was nothing to restore.</summary>
    /// <remarks>
    /// A changelog counts as restoring only once it is assigned, after every end was read: one counted before a later
    /// changelog's end failed to come was never assigned, and the failed thread's close unassigned it, which librdkafka
    /// refuses ("Can't subtract from empty assignment"). That threw out of the thread's clean-up: its stores stayed open,
    /// it never left the group, and the instance never went to Error.
    /// </remarks>
    public bool Register(StreamTask task)
    {
        var added = new List<TopicPartitionOffset>();
        var restoring = new List<Restoring>();
        foreach (var entry in task.State.Entries)
        {
            if (entry.Changelog is not { } changelog)
            {
                continue;
            }

            var watermarks = consumer.QueryWatermarkOffsets(changelog, MetadataTimeout);
            var end = watermarks.High.Value;
            var begin = watermarks.Low.Value;
            if (entry.RestoreFrom is { } from && (from > end || from < begin))
            {
                // The changelog does not contain the checkpointed position (recreated or truncated topic).
                task.State.Wipe(entry, task.Context, $"checkpoint {from} outside the changelog's [{begin}, {end}]");
            }

            var start = entry.RestoreFrom ?? begin;
            entry.Position = start;
            if (start >= end)
            {
                continue;
            }

            if (_active.TryGetValue(changelog, out var other))
            {
                throw new InvalidOperationException($"{changelog} is already being restored, for task {other.Task.Id}.");
            }

            Log.RestoreStart(logger, task.Id, changelog.ToString(), start, end);
            restoring.Add(new Restoring(task, entry, end));
            added.Add(new TopicPartitionOffset(changelog, start));
        }

        if (added.Count == 0)
        {
            return true;
        }

        consumer.IncrementalAssign(added);
        foreach (var started in restoring)
        {
            _active.Add(started.Entry.Changelog!, started);
        }

        _started[task] = Stopwatch.GetTimestamp();
        return false;
    }

    /// <summary>Forgets a task closed while restoring.</summary>
    public void Unregister(StreamTask task)
    {
        var removed = _active.Where(a => a.Value.Task == task).ToList();
        foreach (var (partition, _) in removed)
        {
            _active.Remove(partition);
        }

        _started.Remove(task);
        // A changelog waiting to restart is out of the assignment already.
        var assigned = removed.Where(r => !r.Value.OutOfRange).Select(r => r.Key).ToList();
        if (assigned.Count > 0)
        {
            consumer.IncrementalUnassign(assigned);
        }
    }

    /// <summary>Applies up to <paramref name="max"/> changelog records; returns the tasks whose restoring completed.</summary>
    public List<StreamTask> Restore(int max, TimeSpan wait)
    {
        var completed = new List<StreamTask>();
        if (_active.Count == 0)
        {
            return completed;
        }

        var batches = new Dictionary<StoreEntry, WriteBatch>();
        var applied = 0;
        var timeout = wait;
        // Records come in runs from one partition: remember the last one's state to spare a lookup per record.
        string? lastTopic = null;
        var lastPartition = -1;
        Restoring? restoring = null;
        WriteBatch? batch = null;
        var restartedEmpty = RestartDue();
        var outOfRange = new List<TopicPartition>();
        while (applied < max)
        {
            ConsumeResult<byte[]?, byte[]?>? record;
            try
            {
                record = consumer.Consume(timeout);
            }
            catch (ConsumeException e) when (e.Error.Code == ErrorCode.Local_AutoOffsetReset)
            {
                if (!_active.TryGetValue(e.ConsumerRecord.TopicPartition, out var lost))
                {
                    // librdkafka queues this error unversioned, so it outlives its partition's unassignment: its task
                    // closed (or its restore ended) meanwhile. Thrown, it failed the thread and every task on it.
                    Log.RestoreOutOfRangeIgnored(logger, e.ConsumerRecord.TopicPartition.ToString());
                    continue;
                }

                // The restore consumer resets nowhere on its own (auto.offset.reset is error): its position left the
                // changelog, so what the store got so far cannot be completed from here.
                if (!lost.OutOfRange)
                {
                    lost.OutOfRange = true;
                    outOfRange.Add(e.ConsumerRecord.TopicPartition);
                    Log.RestoreOutOfRange(logger, e, lost.Task.Id, e.ConsumerRecord.TopicPartition.ToString());
                }

                lastTopic = null;
                continue;
            }

            timeout = TimeSpan.Zero;
            if (record is null)
            {
                break;
            }

            if (record.Partition.Value != lastPartition || !string.Equals(record.Topic, lastTopic, StringComparison.Ordinal))
            {
                lastTopic = record.Topic;
                lastPartition = record.Partition.Value;
                restoring = _active.GetValueOrDefault(record.TopicPartition);
                batch = null;
                if (restoring is not null && !batches.TryGetValue(restoring.Entry, out batch))
                {
                    batch = new WriteBatch();
                    batches[restoring.Entry] = batch;
                }
            }

            if (restoring is null || restoring.OutOfRange)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                restoring.ReachedEnd = true;
                continue;
            }

            if (record.Message.Value is null)
            {
                batch!.Delete(record.Message.Key);
            }
            else
            {
                batch!.Put(record.Message.Key, record.Message.Value);
            }

            restoring.Entry.Position = record.Offset.Value + 1;
            if (restoring.Entry.Position >= restoring.End)
            {
                restoring.ReachedEnd = true;
            }

            applied++;
        }

        foreach (var (entry, entryBatch) in batches)
        {
            if (!_active.Values.Any(a => a.Entry == entry && a.OutOfRange))
            {
                entry.Inner.Write(entryBatch);
            }
        }

        Lose(outOfRange);

        if (applied > 0)
        {
            StreamsMetrics.RecordsRestored.Add(applied);
        }

        return Complete(completed, restartedEmpty);
    }

    public void Dispose() => consumer.Dispose();

    /// <summary>
    /// Takes changelogs whose position left them out of the assignment and wipes their stores, to be restored from
    /// their beginning by <see cref="Restart"/>. Kafka Streams wipes a store whose changelog position is out of range
    /// the same way. Before, the restore consumer reset such a position to the changelog's end (librdkafka's default
    /// auto.offset.reset), and the store came out of its restore silently missing everything it had not read yet.
    /// </summary>
    private void Lose(List<TopicPartition> outOfRange)
    {
        if (outOfRange.Count == 0)
        {
            return;
        }

        consumer.IncrementalUnassign(outOfRange);
        var restartAt = Stopwatch.GetTimestamp() + (long)(RestartDelay.TotalSeconds * Stopwatch.Frequency);
        foreach (var partition in outOfRange)
        {
            var lost = _active[partition];
            lost.Task.State.Wipe(lost.Entry, lost.Task.Context, $"its restore's position left {partition}");
            // Its end may have been reached earlier in the batch: the emptied store has it no more.
            lost.ReachedEnd = false;
            lost.RestartAt = restartAt;
        }
    }

    /// <summary>Assigns again, from their beginning, the changelogs out of range whose restart is due; returns those with nothing to restore.</summary>
    private List<TopicPartition> RestartDue()
    {
        var restarted = new List<TopicPartition>();
        var due = _active.Where(a => a.Value.OutOfRange && Stopwatch.GetTimestamp() >= a.Value.RestartAt).ToList();
        if (due.Count == 0)
        {
            return restarted;
        }

        var added = new List<TopicPartitionOffset>();
        foreach (var (changelog, restoring) in due)
        {
            if (Restart(changelog, restoring) is { } from)
            {
                added.Add(from);
            }
            else
            {
                restarted.Add(changelog);
            }
        }

        if (added.Count > 0)
        {
            consumer.IncrementalAssign(added);
        }

        return restarted;
    }

    /// <summary>Where a wiped store's changelog is read again from, with its end read anew; null when it holds nothing.</summary>
    private TopicPartitionOffset? Restart(TopicPartition changelog, Restoring restoring)
    {
        var watermarks = consumer.QueryWatermarkOffsets(changelog, MetadataTimeout);
        restoring.OutOfRange = false;
        restoring.End = watermarks.High.Value;
        restoring.Entry.Position = watermarks.Low.Value;
        Log.RestoreStart(logger, restoring.Task.Id, changelog.ToString(), watermarks.Low.Value, watermarks.High.Value);
        if (watermarks.Low.Value >= watermarks.High.Value)
        {
            restoring.ReachedEnd = true;
            return null;
        }

        return new TopicPartitionOffset(changelog, watermarks.Low);
    }

    private List<StreamTask> Complete(List<StreamTask> completed, List<TopicPartition> unassigned)
    {
        var done = _active.Where(a => a.Value.ReachedEnd).Select(a => a.Key).ToList();
        if (done.Count == 0)
        {
            return completed;
        }

        foreach (var partition in done)
        {
            _active.Remove(partition);
        }

        foreach (var (task, started) in _started.ToList())
        {
            if (!_active.Values.Any(a => a.Task == task))
            {
                _started.Remove(task);
                Log.RestoreDone(logger, task.Id, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                completed.Add(task);
            }
        }

        var assigned = done.Except(unassigned).ToList();
        if (assigned.Count > 0)
        {
            consumer.IncrementalUnassign(assigned);
        }

        return completed;
    }

    private sealed class Restoring(StreamTask task, StoreEntry entry, long end)
    {
        public StreamTask Task { get; } = task;

        public StoreEntry Entry { get; } = entry;

        public long End { get; set; } = end;

        public bool ReachedEnd { get; set; }

        /// <summary>Its position left the changelog: out of the assignment, its store wiped, until <see cref="RestartAt"/>.</summary>
        public bool OutOfRange { get; set; }

        /// <summary>When an out-of-range changelog is assigned again from its beginning (a <see cref="Stopwatch"/> timestamp).</summary>
        public long RestartAt { get; set; }
    }
}
