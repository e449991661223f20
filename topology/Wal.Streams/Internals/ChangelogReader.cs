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
/// A partition leaves only when its restore ends or its task closes, and comes back only with a later assignment of its task.
/// </remarks>
internal sealed class ChangelogReader(IConsumer<byte[]?, byte[]?> consumer, ILogger logger) : IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<TopicPartition, Restoring> _active = [];
    private readonly Dictionary<StreamTask, long> _started = [];

    public bool HasActive => _active.Count > 0;

    /// <summary>Starts restoring <paramref name="task"/>'s changelogs; true if there was nothing to restore.</summary>
    public bool Register(StreamTask task)
    {
        var added = new List<TopicPartitionOffset>();
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

            Log.RestoreStart(logger, task.Id, changelog.ToString(), start, end);
            if (!_active.TryAdd(changelog, new Restoring(task, entry, end)))
            {
                throw new InvalidOperationException($"{changelog} is already being restored, for task {_active[changelog].Task.Id}.");
            }

            added.Add(new TopicPartitionOffset(changelog, start));
        }

        if (added.Count == 0)
        {
            return true;
        }

        _started[task] = Stopwatch.GetTimestamp();
        consumer.IncrementalAssign(added);
        return false;
    }

    /// <summary>Forgets a task closed while restoring.</summary>
    public void Unregister(StreamTask task)
    {
        var removed = _active.Where(a => a.Value.Task == task).Select(a => a.Key).ToList();
        foreach (var partition in removed)
        {
            _active.Remove(partition);
        }

        _started.Remove(task);
        if (removed.Count > 0)
        {
            consumer.IncrementalUnassign(removed);
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
        while (applied < max)
        {
            var record = consumer.Consume(timeout);
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

            if (restoring is null)
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
            entry.Inner.Write(entryBatch);
        }

        if (applied > 0)
        {
            StreamsMetrics.RecordsRestored.Add(applied);
        }

        return Complete(completed);
    }

    public void Dispose() => consumer.Dispose();

    private List<StreamTask> Complete(List<StreamTask> completed)
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

        consumer.IncrementalUnassign(done);
        return completed;
    }

    private sealed class Restoring(StreamTask task, StoreEntry entry, long end)
    {
        public StreamTask Task { get; } = task;

        public StoreEntry Entry { get; } = entry;

        public long End { get; } = end;

        public bool ReachedEnd { get; set; }
    }
}
