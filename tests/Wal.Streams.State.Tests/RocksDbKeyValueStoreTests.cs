using System.Diagnostics;
using Wal.RocksDb;
using static Wal.Streams.State.Tests.Keys;

namespace Wal.Streams.State.Tests;

public sealed class RocksDbKeyValueStoreTests : KeyValueStoreContractTests
{
    private readonly TempDirectory _temp = new();

    private string StoreDirectory => _temp.Sub("store");

    public override void Dispose()
    {
        base.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Persistent_RocksDb_IsTrue() => Assert.True(Store.Persistent);

    [Fact]
    public void Constructor_NestedMissingDirectory_CreatesIt()
    {
        var directory = Path.Combine(_temp.Path, "app", "0_1", "store");

        using var store = new RocksDbKeyValueStore("nested", directory);
        store.Put(B("a"), B("1"));

        Assert.True(File.Exists(Path.Combine(directory, "CURRENT")));
    }

    [Fact]
    public void Reopen_AfterDisposeWithoutFlush_DataSurvives()
    {
        Store.Put(B("a"), B("1"));
        Store.Write(new WriteBatch().Put(B("b"), B("2")).Put(B("c"), B("3")).Delete(B("c")));
        Store.Dispose();

        using var reopened = new RocksDbKeyValueStore("reopened", StoreDirectory);

        Assert.Equal(B("1"), reopened.Get(B("a")));
        Assert.Equal(["a", "b"], DrainKeys(reopened.Range(null, null)));
    }

    [Fact]
    public void Reopen_AfterFlushAndMoreWrites_SeesAllOfThem()
    {
        Store.Put(B("a"), B("1"));
        Store.Flush();
        Store.Put(B("a"), B("2"));
        Store.Delete(B("missing"));
        Store.Dispose();

        using var reopened = new RocksDbKeyValueStore("reopened", StoreDirectory);

        Assert.Equal(B("2"), reopened.Get(B("a")));
    }

    [Fact]
    public void Destroy_ClosedStore_RemovesDataAndDirectory()
    {
        Store.Put(B("a"), B("1"));
        Store.Flush();
        Store.Dispose();

        RocksDbKeyValueStore.Destroy(StoreDirectory);

        Assert.False(Directory.Exists(StoreDirectory));
        using var fresh = new RocksDbKeyValueStore("fresh", StoreDirectory);
        Assert.Null(fresh.Get(B("a")));
        Assert.Equal(0, fresh.ApproximateCount);
    }

    [Fact]
    public void Destroy_MissingDirectory_DoesNothing()
    {
        RocksDbKeyValueStore.Destroy(_temp.Sub("never-created"));

        Assert.False(Directory.Exists(_temp.Sub("never-created")));
    }

    [Fact]
    public void Constructor_DirectoryAlreadyOpen_ThrowsRocksDbLockError()
    {
        Store.Put(B("a"), B("1"));

        var error = Assert.Throws<RocksDbException>(() => new RocksDbKeyValueStore("second", StoreDirectory));

        Assert.Contains("lock", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(StoreDirectory, error.Message, StringComparison.Ordinal);
        Assert.Equal(B("1"), Store.Get(B("a")));
    }

    [Fact]
    public void Constructor_CorruptCurrentFile_ThrowsRocksDbErrorWithItsText()
    {
        Store.Put(B("a"), B("1"));
        Store.Dispose();
        File.WriteAllText(Path.Combine(StoreDirectory, "CURRENT"), "garbage-without-newline");

        var error = Assert.Throws<RocksDbException>(() => new RocksDbKeyValueStore("corrupt", StoreDirectory));

        Assert.Contains("CURRENT", error.Message, StringComparison.Ordinal);
        RocksDbKeyValueStore.Destroy(StoreDirectory);
        using var wiped = new RocksDbKeyValueStore("wiped", StoreDirectory);
        Assert.Null(wiped.Get(B("a")));
    }

    [Fact]
    public void Dispose_WithIteratorStillOpen_ReleasesTheDirectory()
    {
        Store.Put(B("a"), B("1"));
        var forgotten = Store.Range(null, null);
        Assert.True(forgotten.MoveNext());

        Store.Dispose();

        using var reopened = new RocksDbKeyValueStore("reopened", StoreDirectory);
        Assert.Equal(B("1"), reopened.Get(B("a")));
        Assert.Throws<ObjectDisposedException>(() => forgotten.MoveNext());
    }

    [Fact]
    public void OpenUseClose_ManyCycles_NoFileDescriptorOrMemoryGrowth()
    {
        const int Cycles = 400;
        Cycle(StoreDirectory, 20);
        var fdsBefore = OpenFileDescriptors();
        var rssBefore = ResidentBytes();

        Cycle(StoreDirectory, Cycles);

        var fdsAfter = OpenFileDescriptors();
        var rssAfter = ResidentBytes();
        Assert.InRange(fdsAfter - fdsBefore, -8, 8);

        // A leaked database, iterator or batch per cycle would add at least tens of kilobytes each.
        Assert.InRange(rssAfter - rssBefore, long.MinValue, 24L * 1024 * 1024);
    }

    protected override IKeyValueStore CreateStore(string name) => new RocksDbKeyValueStore(name, StoreDirectory);

    private static void Cycle(string directory, int cycles)
    {
        for (var i = 0; i < cycles; i++)
        {
            using var store = new RocksDbKeyValueStore("cycle", directory);
            store.Put(B($"k{i}"), new byte[256]);
            store.Write(new WriteBatch().Put(B("batch"), B("v")).Delete(B($"k{i - 1}")));
            Assert.NotNull(store.Get(B($"k{i}")));
            using var iterator = store.Range(B("k"), B("l"));
            Assert.True(iterator.MoveNext());
        }
    }

    private static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
