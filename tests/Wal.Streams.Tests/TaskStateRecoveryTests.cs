using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.RocksDb;
using Wal.Streams.Internals;
using Wal.Streams.State;

namespace Wal.Streams.Tests;

/// <summary>
/// A task's RocksDB store whose files were lost or corrupted while its checkpoint survived: restoring
/// from the checkpointed offset would leave everything before it out of the store, and a corrupt store
/// failed every open, so the store is rebuilt from the changelog's beginning and the offset leaves the
/// checkpoint file at once. Only a logged store can be rebuilt.
/// </summary>
public sealed class TaskStateRecoveryTests : IDisposable
{
    private static readonly TopicPartition Changelog = new("app-counts-changelog", 0);
    private static readonly TopicPartition OtherChangelog = new("app-other-changelog", 0);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wal-task-recovery-{Guid.NewGuid():N}");

    public TaskStateRecoveryTests() => Directory.CreateDirectory(_directory);

    private string CheckpointPath => Path.Combine(_directory, OffsetCheckpoint.FileName);

    private string StorePath => Path.Combine(_directory, "rocksdb", "counts");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void RegisterStores_CheckpointedStoreFilesGone_RestoresFromTheBeginningAndForgetsTheOffset()
    {
        OffsetCheckpoint.Write(CheckpointPath, new Dictionary<TopicPartition, long> { [Changelog] = 5, [OtherChangelog] = 9 });
        var manager = Manager();

        manager.RegisterStores([Stores.PersistentKeyValueStore("counts")], Context());
        var restoreFrom = manager.Entries.Single().RestoreFrom;
        manager.Close();

        Assert.Null(restoreFrom);
        // The reopened store has files now: left in the file, the offset would be trusted after a crash.
        Assert.Equal(new Dictionary<TopicPartition, long> { [OtherChangelog] = 9 }, OffsetCheckpoint.Read(CheckpointPath));
    }

    [Fact]
    public void RegisterStores_CheckpointedStoreFilesPresent_ResumesAtTheOffset()
    {
        new RocksDbKeyValueStore("counts", StorePath).Dispose();
        OffsetCheckpoint.Write(CheckpointPath, new Dictionary<TopicPartition, long> { [Changelog] = 5 });
        var manager = Manager();

        manager.RegisterStores([Stores.PersistentKeyValueStore("counts")], Context());
        var restoreFrom = manager.Entries.Single().RestoreFrom;
        manager.Close();

        Assert.Equal(5, restoreFrom);
        Assert.Equal(5, OffsetCheckpoint.Read(CheckpointPath)[Changelog]);
    }

    [Fact]
    public void RegisterStores_CheckpointedStoreFilesCorrupt_WipesThemAndRestoresFromTheBeginning()
    {
        WriteCorruptStore();
        OffsetCheckpoint.Write(CheckpointPath, new Dictionary<TopicPartition, long> { [Changelog] = 5, [OtherChangelog] = 9 });
        var manager = Manager();

        manager.RegisterStores([Stores.PersistentKeyValueStore("counts")], Context());
        var entry = manager.Entries.Single();
        var restoreFrom = entry.RestoreFrom;
        var value = entry.Inner.Get("k"u8);
        manager.Close();

        Assert.Null(restoreFrom);
        Assert.Null(value);
        Assert.Equal(new Dictionary<TopicPartition, long> { [OtherChangelog] = 9 }, OffsetCheckpoint.Read(CheckpointPath));
    }

    [Fact]
    public void RegisterStores_UnloggedStoreFilesCorrupt_FailsAndLeavesThemAlone()
    {
        WriteCorruptStore();

        var error = Assert.Throws<RocksDbException>(() => Manager().RegisterStores([Stores.PersistentKeyValueStore("counts").WithLoggingDisabled()], Context()));

        Assert.StartsWith("Corruption:", error.Message, StringComparison.Ordinal);
        Assert.Equal("garbage-without-newline", File.ReadAllText(Path.Combine(StorePath, "CURRENT")));
    }

    private void WriteCorruptStore()
    {
        using (var store = new RocksDbKeyValueStore("counts", StorePath))
        {
            store.Put("k"u8, "v"u8);
        }

        File.WriteAllText(Path.Combine(StorePath, "CURRENT"), "garbage-without-newline");
    }

    private TaskStateManager Manager() => new(new TaskId(0, 0), _directory, "app", exactlyOnce: false, NullLogger.Instance);

    private static TaskContext Context() => new(new TaskId(0, 0), "app", TimeProvider.System, new NoOutputCollector());
}
