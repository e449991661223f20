using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Streams.Internals;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

public sealed class OffsetCheckpointTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "wal-streams-tests", Guid.NewGuid().ToString("N"));

    public OffsetCheckpointTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public void Write_ThenRead_RoundTripsAndLeavesNoTempFile()
    {
        var path = Path.Combine(_directory, OffsetCheckpoint.FileName);
        var offsets = new Dictionary<TopicPartition, long> { [new("app-a-changelog", 0)] = 42, [new("app-b-changelog", 3)] = 7 };

        OffsetCheckpoint.Write(path, offsets);

        Assert.Equal(offsets, OffsetCheckpoint.Read(path));
        Assert.Equal([path], Directory.GetFiles(_directory));
    }

    /// <summary>
    /// The rename makes the new checkpoint visible; only the directory's fsync after it makes it survive a power loss.
    /// strace shows the order the kernel saw; it cannot show what a disk would have kept.
    /// </summary>
    [Fact]
    public void Write_TracedByStrace_FsyncsTheDirectoryAfterTheRename()
    {
        var path = Path.Combine(_directory, OffsetCheckpoint.FileName);
        var offsets = new Dictionary<TopicPartition, long> { [new("app-a-changelog", 0)] = 42 };
        OffsetCheckpoint.Write(path, offsets);

        IReadOnlyList<string> calls;
        using (var trace = SystemCallTrace.Start("rename", "renameat", "renameat2", "fsync", "fdatasync"))
        {
            OffsetCheckpoint.Write(path, offsets);
            calls = trace.Stop();
        }

        AssertDirectoryFsyncAfter(calls, "rename", path + ".tmp");
    }

    /// <summary>Exactly-once deletes the checkpoint to mark the stores untrusted: a delete lost to a power loss would vouch for them again.</summary>
    [Fact]
    public void Delete_TracedByStrace_FsyncsTheDirectoryAfterTheUnlink()
    {
        var path = Path.Combine(_directory, OffsetCheckpoint.FileName);
        OffsetCheckpoint.Write(path, new Dictionary<TopicPartition, long> { [new("app-a-changelog", 0)] = 42 });

        IReadOnlyList<string> calls;
        using (var trace = SystemCallTrace.Start("unlink", "unlinkat", "fsync", "fdatasync"))
        {
            OffsetCheckpoint.Delete(path);
            calls = trace.Stop();
        }

        AssertDirectoryFsyncAfter(calls, "unlink", path);
    }

    [Fact]
    public void Read_TruncatedFile_ThrowsTaskCorrupted()
    {
        var path = Path.Combine(_directory, OffsetCheckpoint.FileName);
        File.WriteAllText(path, "0\n2\napp-a-changelog 0 42\n");

        Assert.Throws<TaskCorruptedException>(() => OffsetCheckpoint.Read(path));
    }

    [Fact]
    public void RegisterStores_ExactlyOnce_DeletesCheckpointSoACrashWipes()
    {
        var path = Path.Combine(_directory, OffsetCheckpoint.FileName);
        var changelog = new TopicPartition("app-counts-changelog", 0);
        OffsetCheckpoint.Write(path, new Dictionary<TopicPartition, long> { [changelog] = 5 });
        var storeDirectory = Path.Combine(_directory, "rocksdb", "counts");
        Directory.CreateDirectory(storeDirectory);
        FileBackedKeyValueStore.Save(Path.Combine(storeDirectory, "data.bin"), [("k"u8.ToArray(), "v"u8.ToArray())]);
        var manager = new TaskStateManager(new TaskId(0, 0), _directory, "app", exactlyOnce: true, NullLogger.Instance);
        var context = new TaskContext(new TaskId(0, 0), "app", TimeProvider.System, new NoOutputCollector());

        manager.RegisterStores([FileBackedKeyValueStore.Builder("counts")], context);

        Assert.Equal(5, manager.Entries.Single().RestoreFrom);
        Assert.False(File.Exists(path));
        manager.Close();
    }

    [Fact]
    public void RegisterStores_PersistentWithoutCheckpoint_WipesLocalData()
    {
        var storeDirectory = Path.Combine(_directory, "rocksdb", "counts");
        Directory.CreateDirectory(storeDirectory);
        FileBackedKeyValueStore.Save(Path.Combine(storeDirectory, "data.bin"), [("k"u8.ToArray(), "v"u8.ToArray())]);
        var manager = new TaskStateManager(new TaskId(0, 0), _directory, "app", exactlyOnce: false, NullLogger.Instance);
        var context = new TaskContext(new TaskId(0, 0), "app", TimeProvider.System, new NoOutputCollector());

        manager.RegisterStores([FileBackedKeyValueStore.Builder("counts")], context);

        Assert.Null(manager.Entries.Single().RestoreFrom);
        Assert.Equal(0, manager.Entries.Single().Inner.ApproximateCount);
        manager.Close();
    }

    [Fact]
    public void Checkpoint_AfterStartFlush_IsWrittenWithTheAcknowledgedOffsetOnceTheFlushIsDone()
    {
        var path = Path.Combine(_directory, OffsetCheckpoint.FileName);
        var changelog = new TopicPartition("app-timers-changelog", 0);
        var manager = new TaskStateManager(new TaskId(0, 0), _directory, "app", exactlyOnce: false, NullLogger.Instance);
        var collector = new AcknowledgedAt(changelog, 41);
        manager.RegisterStores([Stores.PersistentKeyValueStore("timers")], new TaskContext(new TaskId(0, 0), "app", TimeProvider.System, collector));
        manager.Restored = true;
        var store = (RocksDbKeyValueStore)manager.Entries.Single().Inner;
        for (var i = 0; i < 1_000; i++)
        {
            store.Put(BitConverter.GetBytes(i), new byte[100]);
        }

        // A periodic commit: start the flush, then the checkpoint (deferred while the flush runs).
        manager.StartFlush();
        manager.Checkpoint(collector);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (store.FlushInProgress && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        var flushed = !store.FlushInProgress;
        var tableFiles = Directory.GetFiles(Path.Combine(_directory, "rocksdb", "timers"), "*.sst").Length;

        // The next commit writes what the earlier one deferred.
        manager.StartFlush();
        var written = OffsetCheckpoint.Read(path);
        manager.Close();

        Assert.True(flushed, "the flush did not finish within 30 s");
        Assert.True(tableFiles > 0, "the started flush wrote no table file");
        Assert.Equal(42, written[changelog]);
    }

    [Fact]
    public void Checkpoint_CleanCloseWhileRestoring_WritesOnlyWhatWasRestored()
    {
        // This thread's producer acknowledged changelog offset 99 while it owned the task before;
        // the task was lost (closed dirty, so the checkpoint still says 10), came back, and is
        // closed cleanly with its restore at 20. Raised to 100, the checkpoint would skip 20..99
        // at the next restore: acknowledged changes the store never got back.
        var path = Path.Combine(_directory, OffsetCheckpoint.FileName);
        var changelog = new TopicPartition("app-timers-changelog", 0);
        OffsetCheckpoint.Write(path, new Dictionary<TopicPartition, long> { [changelog] = 10 });
        new RocksDbKeyValueStore("timers", Path.Combine(_directory, "rocksdb", "timers")).Dispose();
        var collector = new AcknowledgedAt(changelog, 99);
        var manager = new TaskStateManager(new TaskId(0, 0), _directory, "app", exactlyOnce: false, NullLogger.Instance);
        manager.RegisterStores([Stores.PersistentKeyValueStore("timers")], new TaskContext(new TaskId(0, 0), "app", TimeProvider.System, collector));
        var entry = manager.Entries.Single();
        Assert.Equal(10, entry.RestoreFrom);
        for (var offset = 10; offset < 20; offset++)
        {
            entry.Inner.Put(BitConverter.GetBytes(offset), [1]);
        }

        entry.Position = 20;
        manager.Flush();
        manager.Checkpoint(collector);
        manager.Close();

        Assert.Equal(20, OffsetCheckpoint.Read(path)[changelog]);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private void AssertDirectoryFsyncAfter(IReadOnlyList<string> calls, string call, string file)
    {
        var lines = calls.ToList();
        var change = lines.FindIndex(c => c.Contains(call, StringComparison.Ordinal) && c.Contains($"\"{file}\"", StringComparison.Ordinal));
        var directoryFsync = lines.FindLastIndex(c => c.Contains("fsync(", StringComparison.Ordinal) && c.Contains($"<{_directory}>)", StringComparison.Ordinal));
        Assert.True(change >= 0, $"no {call} of {file} among:\n{string.Join('\n', calls)}");
        Assert.True(directoryFsync > change, $"no fsync of the directory after the {call} among:\n{string.Join('\n', calls)}");
    }

    private sealed class AcknowledgedAt(TopicPartition partition, long offset) : IRecordCollector
    {
        public void Send(string topic, int? partition, byte[]? key, byte[]? value, Headers? headers, long timestamp)
        {
        }

        public void Flush()
        {
        }

        public int PartitionCount(string topic) => 1;

        public long? AcknowledgedOffset(TopicPartition p) => p == partition ? offset : null;
    }
}
