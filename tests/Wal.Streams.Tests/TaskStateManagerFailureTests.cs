using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.RocksDb;
using Wal.Streams.Internals;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// A task's stores when one of them fails to open or to close. A RocksDB store left open holds its
/// lock until a GC happens to finalize it, so the task could not be opened again in this process (the
/// next assignment, a rebuilt topology); a checkpoint lost to a failed open costs a full restore.
/// </summary>
public sealed class TaskStateManagerFailureTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wal-task-state-{Guid.NewGuid():N}");

    public TaskStateManagerFailureTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void RegisterStores_SecondStoreFailsToOpen_FirstIsClosedAndTheTaskOpensOnceFree()
    {
        // "b" is still held open elsewhere in the process, as by the task's previous owner.
        var holder = new RocksDbKeyValueStore("b", StorePath("b"));
        Assert.Throws<RocksDbException>(() => Manager(exactlyOnce: false).RegisterStores(TwoStores(), Context()));
        holder.Dispose();

        var retry = Manager(exactlyOnce: false);
        retry.RegisterStores(TwoStores(), Context());
        Assert.Equal(["a", "b"], retry.Entries.Select(e => e.Builder.Name));
        retry.Close();
    }

    [Fact]
    public void RegisterStores_ExactlyOnceStoreFailsToOpen_CheckpointKept()
    {
        var checkpoint = Path.Combine(_directory, OffsetCheckpoint.FileName);
        OffsetCheckpoint.Write(checkpoint, new Dictionary<TopicPartition, long> { [new TopicPartition("app-b-changelog", 0)] = 500 });
        using (new RocksDbKeyValueStore("b", StorePath("b")))
        {
            Assert.Throws<RocksDbException>(() => Manager(exactlyOnce: true).RegisterStores([Stores.PersistentKeyValueStore("b")], Context()));
        }

        Assert.True(File.Exists(checkpoint), "a failed open deleted the checkpoint, so the next attempt would restore the whole changelog");
        var retry = Manager(exactlyOnce: true);
        retry.RegisterStores([Stores.PersistentKeyValueStore("b")], Context());
        Assert.Equal(500, retry.Entries.Single().RestoreFrom);
        // Once every store is open, exactly-once deletes it: a crash from here on must wipe the stores.
        Assert.False(File.Exists(checkpoint));
        retry.Close();
    }

    /// <summary>The delete that marks the stores untrusted comes after they opened: failing, it must close them as a failed open does.</summary>
    [Fact]
    public void RegisterStores_ExactlyOnceCheckpointDeleteFails_OpenedStoresClosed()
    {
        var checkpoint = Path.Combine(_directory, OffsetCheckpoint.FileName);
        // A checkpoint there, or there is nothing to delete.
        OffsetCheckpoint.Write(checkpoint, new Dictionary<TopicPartition, long> { [new TopicPartition("app-b-changelog", 0)] = 500 });
        using (SystemCallTrace.Failing(checkpoint, "EACCES", "unlink", "unlinkat"))
        {
            Assert.Throws<UnauthorizedAccessException>(() => Manager(exactlyOnce: true).RegisterStores(TwoStores(), Context()));
        }

        // Left open, each still holds its RocksDB lock ("lock hold by current process").
        using var a = new RocksDbKeyValueStore("a", StorePath("a"));
        using var b = new RocksDbKeyValueStore("b", StorePath("b"));
    }

    [Fact]
    public void Close_OneStoreFailsToClose_TheOthersAreClosedAndTheFailureThrown()
    {
        var manager = Manager(exactlyOnce: false);
        manager.RegisterStores(TwoStores(), Context());
        var a = (RocksDbKeyValueStore)manager.Entries[0].Inner;
        // An I/O error on "a": its directory vanishes, so writing its pending batch on close fails.
        a.Put("k"u8, "v"u8);
        Directory.Delete(a.DirectoryPath, recursive: true);
        Assert.Throws<RocksDbException>(a.Flush);
        a.Put("k2"u8, "v2"u8);

        Assert.Throws<RocksDbException>(manager.Close);

        Assert.Empty(manager.Entries);
        using var reopened = new RocksDbKeyValueStore("b", StorePath("b"));
    }

    private static IReadOnlyList<IStoreBuilder> TwoStores() => [Stores.PersistentKeyValueStore("a"), Stores.PersistentKeyValueStore("b")];

    private string StorePath(string store) => Path.Combine(_directory, "rocksdb", store);

    private TaskStateManager Manager(bool exactlyOnce) => new(new TaskId(0, 0), _directory, "app", exactlyOnce, NullLogger.Instance);

    private static TaskContext Context() => new(new TaskId(0, 0), "app", TimeProvider.System, new NoOutputCollector());
}
