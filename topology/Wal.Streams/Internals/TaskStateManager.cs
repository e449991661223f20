using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Wal.RocksDb;
using Wal.Streams.State;

namespace Wal.Streams.Internals;

/// <summary>
/// Owns a task's stores: builds them (metered → change-logging → inner), decides from the checkpoint where each is restored
/// from, wipes a persistent store whose local state cannot be trusted, and writes the checkpoint.
/// </summary>
/// <remarks>
/// Trust rules, as Kafka Streams: an in-memory store is always rebuilt from the changelog's beginning; a persistent logged store
/// resumes from its checkpointed offset, and without one it is wiped and rebuilt. A checkpointed store whose files are gone is
/// rebuilt too: the offset vouches for files that no longer hold anything. So is a logged store whose files RocksDB reports
/// corrupt; an unlogged one has nothing to rebuild from, and its open fails. Under exactly-once the checkpoint is deleted
/// once every store is open and written again only on a clean close, so after a crash the store is wiped (it may hold
/// uncommitted writes).
/// </remarks>
internal sealed class TaskStateManager(TaskId id, string taskDirectory, string applicationId, bool exactlyOnce, ILogger logger)
{
    private readonly List<StoreEntry> _entries = [];

    // Offsets for a checkpoint whose stores' flush was only started: written once the flush is done.
    private Dictionary<TopicPartition, long>? _deferredCheckpoint;
    private bool _flushStarted;

    public TaskId Id { get; } = id;

    public string CheckpointPath => Path.Combine(taskDirectory, OffsetCheckpoint.FileName);

    public IReadOnlyList<StoreEntry> Entries => _entries;

    public static string ChangelogTopic(string applicationId, string storeName) => $"{applicationId}-{storeName}-changelog";

    /// <summary>Builds every store and registers the outermost layer with <paramref name="task"/>.</summary>
    public void RegisterStores(IReadOnlyList<IStoreBuilder> builders, TaskContext task)
    {
        Dictionary<TopicPartition, long> checkpoint;
        try
        {
            checkpoint = builders.Count == 0 ? [] : OffsetCheckpoint.Read(CheckpointPath);
        }
        catch (TaskCorruptedException e)
        {
            Log.CheckpointIgnored(logger, e, Id);
            checkpoint = [];
        }

        try
        {
            OpenAll(builders, checkpoint, task);
            // Deleted only once every store is open: a failed open changed nothing on disk, and without the
            // checkpoint the next attempt would wipe every store and restore it from the changelog's beginning.
            if (exactlyOnce)
            {
                OffsetCheckpoint.Delete(CheckpointPath);
            }
        }
        catch
        {
            // Stores opened before the failure (the delete's included) hold their RocksDB locks until closed, and
            // the task never reaches the thread's task list, so nothing else would close them.
            CloseQuietly();
            throw;
        }
    }

    private void OpenAll(IReadOnlyList<IStoreBuilder> builders, Dictionary<TopicPartition, long> checkpoint, TaskContext task)
    {
        foreach (var builder in builders)
        {
            var changelog = builder.LoggingEnabled ? new TopicPartition(ChangelogTopic(applicationId, builder.Name), Id.Partition) : null;
            var directory = Path.Combine(taskDirectory, builder.Persistent ? "rocksdb" : "memory", builder.Name);
            var entry = new StoreEntry(builder, directory, changelog);
            if (changelog is not null && builder.Persistent)
            {
                entry.RestoreFrom = TrustedOffset(builder.Name, directory, changelog, checkpoint);
            }

            OpenRebuildingIfCorrupt(entry, task);
            _entries.Add(entry);
        }
    }

    /// <summary>Where a logged persistent store's restore resumes: its checkpointed offset, if its local state is there to resume.</summary>
    private long? TrustedOffset(string store, string directory, TopicPartition changelog, Dictionary<TopicPartition, long> checkpoint)
    {
        var hasLocalState = HasLocalState(directory);
        if (checkpoint.TryGetValue(changelog, out var offset))
        {
            if (hasLocalState)
            {
                return offset;
            }

            // The store's files are gone (removed by hand, a replaced disk) while the checkpoint says
            // they hold everything before its offset: resuming there would leave that out for good.
            Log.Wipe(logger, Id, store, "checkpoint without local state");
            ForgetCheckpointedOffset(changelog);
            return null;
        }

        if (hasLocalState)
        {
            Log.Wipe(logger, Id, store, "no checkpoint");
            DeleteDirectory(directory);
        }
        else
        {
            // Nothing on disk, so nothing is discarded: a new task directory, not a lost one.
            Log.NoLocalState(logger, Id, store);
        }

        return null;
    }

    /// <summary>
    /// Opens a store; a logged store whose files RocksDB finds corrupt is wiped and rebuilt from its
    /// changelog, which holds all it held. Failing instead failed the task at every start, for good.
    /// </summary>
    private void OpenRebuildingIfCorrupt(StoreEntry entry, TaskContext task)
    {
        try
        {
            Open(entry, task);
        }
        catch (RocksDbException e) when (entry.Changelog is not null && e.IsCorruption)
        {
            Log.CorruptStoreWiped(logger, e, Id, entry.Builder.Name);
            ReopenEmpty(entry, task);
        }
    }

    /// <summary>
    /// Takes a changelog's offset out of the checkpoint file before its store is emptied. The reopened
    /// store has files at once, so a crash before the next checkpoint would find them beside the stale
    /// offset, trust it once the changelog had grown past it, and skip what lies before.
    /// </summary>
    private void ForgetCheckpointedOffset(TopicPartition changelog)
    {
        if (!File.Exists(CheckpointPath))
        {
            return;
        }

        var kept = OffsetCheckpoint.Read(CheckpointPath);
        if (kept.Remove(changelog))
        {
            OffsetCheckpoint.Write(CheckpointPath, kept);
        }
    }

    /// <summary>The entry of <paramref name="store"/> if it is logged: one its changelog can rebuild.</summary>
    public StoreEntry? LoggedEntry(string? store) => _entries.Find(e => e.Changelog is not null && e.Builder.Name == store);

    /// <summary>
    /// Deletes a store's files once the task is closed, and first its offset from the checkpoint file: the
    /// task's next start finds neither, and restores the store from its changelog's beginning.
    /// </summary>
    public void WipeClosed(StoreEntry entry)
    {
        if (entry.Changelog is { } changelog)
        {
            ForgetCheckpointedOffset(changelog);
        }

        DeleteDirectory(entry.Directory);
    }

    /// <summary>Replaces a store's local state with an empty store, to be restored from the changelog's beginning.</summary>
    public void Wipe(StoreEntry entry, TaskContext task, string reason)
    {
        Log.Wipe(logger, Id, entry.Builder.Name, reason);
        entry.Inner.Dispose();
        ReopenEmpty(entry, task);
    }

    /// <summary>Deletes a closed store's files and opens it empty, to be restored from its changelog's beginning.</summary>
    private void ReopenEmpty(StoreEntry entry, TaskContext task)
    {
        // Out of the file first, so that no crash finds the stale offset beside an emptied store.
        if (entry.Changelog is { } changelog)
        {
            ForgetCheckpointedOffset(changelog);
        }

        DeleteDirectory(entry.Directory);
        entry.RestoreFrom = null;
        entry.Position = 0;
        Open(entry, task);
    }

    /// <summary>Flushes every store and waits: the next <see cref="Checkpoint"/> is written at once.</summary>
    public void Flush()
    {
        foreach (var entry in _entries)
        {
            entry.Inner.Flush();
        }

        _flushStarted = false;
        _deferredCheckpoint = null;
    }

    /// <summary>
    /// For a periodic at-least-once commit: writes the checkpoint deferred at an earlier commit if its
    /// flush is done, then starts flushing the RocksDB stores without waiting (others flush at once).
    /// The next <see cref="Checkpoint"/> is deferred until that flush is done.
    /// </summary>
    /// <remarks>
    /// Waiting for RocksDB to write its memtables stalled the stream thread, and with it every timer
    /// and record due meanwhile, for as long as the writing took. A checkpoint written one or more
    /// commits later is still true (its offsets were acknowledged before the flush began); it only
    /// means more changelog to replay after a crash, and replaying puts and deletes in order is
    /// idempotent.
    /// </remarks>
    public void StartFlush()
    {
        WriteDeferredCheckpointIfFlushed();
        foreach (var entry in _entries)
        {
            if (entry.Inner is RocksDbKeyValueStore rocks)
            {
                rocks.StartFlush();
            }
            else
            {
                entry.Inner.Flush();
            }
        }

        _flushStarted = true;
    }

    /// <summary>
    /// True once the stores are restored to their changelogs' ends (the task's topology is
    /// initialised). Only then may <see cref="Checkpoint"/> raise a position to this thread's last
    /// acknowledged changelog offset: that acknowledgement can come from an earlier ownership of the
    /// task, beyond what a restore cut short has put back into the store.
    /// </summary>
    public bool Restored { get; set; }

    /// <summary>
    /// Writes the positions of logged persistent stores, after their changelog records were acknowledged and an offset commit
    /// confirmed this thread still owned the task (<see cref="IRecordCollector.ConfirmedOffset"/>).
    /// </summary>
    public void Checkpoint(IRecordCollector collector)
    {
        var offsets = new Dictionary<TopicPartition, long>();
        foreach (var entry in _entries)
        {
            if (entry.Changelog is not { } changelog)
            {
                continue;
            }

            if (Restored && collector.ConfirmedOffset(changelog) is { } acked && acked + 1 > entry.Position)
            {
                entry.Position = acked + 1;
            }

            if (entry.Builder.Persistent)
            {
                offsets[changelog] = entry.Position;
            }
        }

        if (offsets.Count == 0)
        {
            return;
        }

        if (_flushStarted && FlushInProgress())
        {
            _deferredCheckpoint = offsets;
            return;
        }

        WriteCheckpoint(offsets);
    }

    private void WriteDeferredCheckpointIfFlushed()
    {
        if (_deferredCheckpoint is { } offsets && !FlushInProgress())
        {
            WriteCheckpoint(offsets);
        }
    }

    private bool FlushInProgress() => _entries.Any(e => e.Inner is RocksDbKeyValueStore { FlushInProgress: true });

    private void WriteCheckpoint(Dictionary<TopicPartition, long> offsets)
    {
        Directory.CreateDirectory(taskDirectory);
        OffsetCheckpoint.Write(CheckpointPath, offsets);
        _deferredCheckpoint = null;
    }

    /// <summary>Closes every store, even when one fails to close; then throws the first failure.</summary>
    public void Close()
    {
        var failure = CloseQuietly();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    // A store that fails to close must not keep the others open: each holds its RocksDB lock until closed.
    private Exception? CloseQuietly()
    {
        Exception? first = null;
        foreach (var entry in _entries)
        {
            try
            {
                entry.Inner.Dispose();
            }
            catch (Exception e)
            {
                first ??= e;
            }
        }

        _entries.Clear();
        return first;
    }

    private static void Open(StoreEntry entry, TaskContext task)
    {
        if (entry.Builder.Persistent)
        {
            Directory.CreateDirectory(entry.Directory);
        }

        entry.Inner = entry.Builder.Build(entry.Directory);
        IKeyValueStore store = entry.Inner;
        if (entry.Changelog is { } changelog)
        {
            store = new ChangeLoggingKeyValueStore(store, changelog, task);
        }

        task.Stores[entry.Builder.Name] = new MeteredKeyValueStore(store);
    }

    private static bool HasLocalState(string directory) =>
        Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any();

    private static void DeleteDirectory(string directory)
    {
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
