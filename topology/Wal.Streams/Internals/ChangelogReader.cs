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
internal sealed class ChangelogReader(IConsumer<byte[]?, byte[]?> consumer, ILogger logger) : IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(30);

    private readonly Dictionary<TopicPartition, Restoring> _active = [];
    private readonly Dictionary<StreamTask, long> _started = [];

    public bool HasActive => _active.Count > 0;

    /// <summary>Starts restoring <paramref name="task"/>'s changelogs; true if there was nothing to restore.</summary>
    public bool Register(StreamTask task)
    {
        var added = false;
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
            _active[changelog] = new Restoring(task, entry, end);
            added = true;
        }

        if (!added)
        {
            return true;
        }

        _started[task] = Stopwatch.GetTimestamp();
        Reassign();
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
            Reassign();
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

        Reassign();
        return completed;
    }

    private void Reassign()
    {
        if (_active.Count == 0)
        {
            consumer.Unassign();
            return;
        }

        consumer.Assign(_active.Select(a => new TopicPartitionOffset(a.Key, a.Value.Entry.Position)));
    }

    private sealed class Restoring(StreamTask task, StoreEntry entry, long end)
    {
        public StreamTask Task { get; } = task;

        public StoreEntry Entry { get; } = entry;

        public long End { get; } = end;

        public bool ReachedEnd { get; set; }
    }
}
