using System.Diagnostics;
using Wal.RocksDb;
using static Wal.Streams.State.Tests.Keys;

namespace Wal.Streams.State.Tests;

[Collection(NativeHeapCollection.Name)]
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
    public void PutAndDelete_AcrossSeveralWriteBatches_ReadsSeeEveryWriteAndCloseKeepsThem()
    {
        // More than two buffered batches' worth, and a remainder that only Dispose applies.
        var count = (RocksDbKeyValueStore.MaxPendingWrites * 2) + 7;
        for (var i = 0; i < count; i++)
        {
            Store.Put(B($"k{i:D5}"), B($"v{i}"));
            if (i % 3 == 0)
            {
                Store.Delete(B($"k{i:D5}"));
            }

            if (i == (count / 2) + 1)
            {
                // A read in the middle sees everything written so far, the buffered part included.
                Assert.Equal(B($"v{i}"), Store.Get(B($"k{i:D5}")));
                Assert.Null(Store.Get(B($"k{i - (i % 3):D5}")));
            }
        }

        var expected = Enumerable.Range(0, count).Where(i => i % 3 != 0).Select(i => $"k{i:D5}").ToList();
        Assert.Equal(expected.Take(5), DrainKeys(Store.Range(null, null)).Take(5));
        Store.Put(B("last"), B("x"));
        Store.Dispose();

        using var reopened = new RocksDbKeyValueStore("reopened", StoreDirectory);
        Assert.Equal([.. expected, "last"], DrainKeys(reopened.Range(null, null)));
    }

    [Fact]
    public void StartFlush_AfterWrites_FlushCompletesAndTableFilesAppear()
    {
        for (var i = 0; i < 500; i++)
        {
            Store.Put(B($"k{i:D4}"), B("value"));
        }

        Assert.Empty(Directory.GetFiles(StoreDirectory, "*.sst"));
        ((RocksDbKeyValueStore)Store).StartFlush();
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
        while (((RocksDbKeyValueStore)Store).FlushInProgress && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Sleep(10);
        }

        Assert.False(((RocksDbKeyValueStore)Store).FlushInProgress, "the flush did not finish within 30 s");
        Assert.NotEmpty(Directory.GetFiles(StoreDirectory, "*.sst"));
        Assert.Equal(500, DrainKeys(Store.Range(null, null)).Count);
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
    public void GetAndRange_DataBlockDamagedAfterOpen_ThrowTaskCorruptedNamingTheStore()
    {
        var keys = WriteATable((RocksDbKeyValueStore)Store);
        Store.Dispose();
        TableFileDamage.FlipBytes(Directory.GetFiles(StoreDirectory, "*.sst").Single(), 0.5);
        using var damaged = new RocksDbKeyValueStore("damaged", StoreDirectory);

        var fromRange = Assert.Throws<TaskCorruptedException>(() => DrainKeys(damaged.Range(null, null)));
        var fromGet = keys.Select(key => Record.Exception(() => damaged.Get(B(key)))).OfType<TaskCorruptedException>().FirstOrDefault();

        Assert.All([fromRange, fromGet], e =>
        {
            Assert.NotNull(e);
            Assert.Equal("damaged", e.StoreName);
            Assert.True(Assert.IsType<RocksDbException>(e.InnerException).IsCorruption);
        });
    }

    [Fact]
    public async Task Flush_AfterACompactionMetADamagedBlock_ThrowsTaskCorruptedNamingTheStore()
    {
        var store = (RocksDbKeyValueStore)Store;
        for (var table = 0; table < 3; table++)
        {
            WriteATable(store);
        }

        Store.Dispose();
        TableFileDamage.FlipBytes(Directory.GetFiles(StoreDirectory, "*.sst").Order().First(), 0.5);
        using var damaged = new RocksDbKeyValueStore("damaged", StoreDirectory);

        // A fourth level-0 table starts a compaction of all four in the background; once it meets the damaged block,
        // RocksDB refuses every write with the compaction's status, the rest of this table's own writes included.
        TaskCorruptedException? refused = null;
        bool Refused(Action write)
        {
            try
            {
                write();
                return false;
            }
            catch (TaskCorruptedException e)
            {
                refused = e;
                return true;
            }
        }

        if (!Refused(() => WriteATable(damaged)))
        {
            await Eventually.WaitUntilAsync(
                () => Refused(() =>
                {
                    damaged.Put(B("after"), B("compaction"));
                    damaged.Flush();
                }),
                TimeSpan.FromSeconds(30),
                "a write refused after the compaction met the damaged block");
        }

        Assert.Equal("damaged", refused!.StoreName);
        Assert.True(Assert.IsType<RocksDbException>(refused.InnerException).IsCorruption);
    }

    [Fact]
    public void IsCorruption_LockError_IsFalse()
    {
        Store.Put(B("a"), B("1"));

        var error = Assert.Throws<RocksDbException>(() => new RocksDbKeyValueStore("second", StoreDirectory));

        Assert.False(error.IsCorruption);
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
        // RocksDB and the runtime settle within the first cycles; after that the native heap wanders by
        // a few hundred KiB around a level, so compare medians of samples rather than two points.
        const int Batches = 6;
        Cycle(StoreDirectory, 60);
        var fdsBefore = OpenFileDescriptors();
        var rssBefore = ResidentBytes();
        var heap = new List<long>();
        for (var batch = 0; batch < Batches; batch++)
        {
            Cycle(StoreDirectory, 30);
            heap.Add(NativeHeap.InUseBytes());
        }

        var heapGrowth = Median(heap[^3..]) - Median(heap[..3]);
        var fdGrowth = OpenFileDescriptors() - fdsBefore;
        var rssGrowth = ResidentBytes() - rssBefore;

        // A database left open keeps its lock, files and memtable: the next cycle would fail to open,
        // and descriptors and memory would climb. Small per-call leaks are the next test's business.
        Assert.InRange(fdGrowth, -8, 8);
        Assert.InRange(heapGrowth, long.MinValue, 1024 * 1024L);
        Assert.InRange(rssGrowth, long.MinValue, 24L * 1024 * 1024);
    }

    [Fact]
    public void GetAndRange_ManyCalls_NoNativeHeapGrowth()
    {
        for (var i = 0; i < 100; i++)
        {
            Store.Put(B($"key-{i:D3}"), new byte[200]);
        }

        Store.Flush();
        Store.Put(B("key-in-memtable"), new byte[200]);

        // Warm up long enough for tiered JIT recompilation of the read path to finish: the JIT's
        // own native allocations would otherwise land in the first measured stretches.
        ReadMany(20_000);

        // The native heap jumps now and then by megabytes as caches (RocksDB's, the runtime's) fill or
        // let go; a leak is growth in every stretch of calls, so it is the median stretch that counts.
        var samples = new List<long> { SettledHeap() };
        for (var stretch = 0; stretch < 8; stretch++)
        {
            ReadMany(10_000);
            samples.Add(SettledHeap());
        }

        var growthPerStretch = Median(samples.Zip(samples.Skip(1), (before, after) => after - before).ToList());

        // A stretch creates and frees 30,000 pinned slices and 10,000 iterators with their read options
        // and bounds: leaking even the smallest of them, a copied bound (one 32-byte chunk), adds 320 KB.
        // The median stretch of a leak-free run has measured up to about 100 KB of allocator noise (a full
        // clean-clone run): the bound sits between the two.
        Assert.InRange(growthPerStretch, long.MinValue, 160 * 1024L);
    }

    /// <summary>
    /// Writes 2,000 keys with incompressible values and flushes them to a table file, most of which is then data
    /// blocks: its middle lies in one. Returns the keys.
    /// </summary>
    private static List<string> WriteATable(RocksDbKeyValueStore store)
    {
        var random = new Random(7);
        var keys = Enumerable.Range(0, 2_000).Select(i => $"k{i:D4}").ToList();
        foreach (var key in keys)
        {
            var value = new byte[100];
            random.NextBytes(value);
            store.Put(B(key), value);
        }

        store.Flush();
        return keys;
    }

    // Finalizers of objects abandoned earlier free native memory whenever they happen to run; run
    // them before each sample so they do not shift one stretch against another.
    private static long SettledHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return NativeHeap.InUseBytes();
    }

    protected override IKeyValueStore CreateStore(string name) => new RocksDbKeyValueStore(name, StoreDirectory);

    private void ReadMany(int calls)
    {
        var from = B("key-010");
        var to = B("key-013");
        for (var i = 0; i < calls; i++)
        {
            Assert.NotNull(Store.Get(B("key-050")));
            Assert.NotNull(Store.Get(B("key-in-memtable")));
            Assert.Null(Store.Get(B("absent")));
            Assert.Equal(3, Drain(Store.Range(from, to)).Count);
        }
    }

    private static void Cycle(string directory, int cycles)
    {
        CycleCore(directory, cycles);

        // Settle the managed side so the figures compare like with like.
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Every cycle starts from an empty directory, so each leaves RocksDB's memory exactly as it found it.</summary>
    private static void CycleCore(string directory, int cycles)
    {
        for (var i = 0; i < cycles; i++)
        {
            using (var store = new RocksDbKeyValueStore("cycle", directory))
            {
                store.Put(B("k1"), new byte[256]);
                store.Write(new WriteBatch().Put(B("k2"), B("v")).Delete(B("k0")));
                Assert.NotNull(store.Get(B("k1")));
                store.Flush();
                Assert.NotNull(store.Get(B("k2")));
                using var iterator = store.Range(B("k"), B("l"));
                Assert.True(iterator.MoveNext());
            }

            RocksDbKeyValueStore.Destroy(directory);
        }
    }

    private static long Median(List<long> values) => values.Order().ElementAt(values.Count / 2);

    private static int OpenFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private static long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
