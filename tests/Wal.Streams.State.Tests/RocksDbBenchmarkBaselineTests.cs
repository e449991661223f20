using Wal.Benchmarks.RocksDb;
using Wal.RocksDb;
using static Wal.Streams.State.Tests.Keys;

namespace Wal.Streams.State.Tests;

/// <summary>
/// The rocksdb-store benchmark divides the store's put rate by its raw side's: that measures the binding's cost only if
/// the raw side makes the store's native calls, puts collected in a write batch applied every
/// <see cref="RocksDbKeyValueStore.MaxPendingWrites"/>, not one <c>rocksdb_put</c> (one trip through RocksDB's write path) each.
/// </summary>
public sealed class RocksDbBenchmarkBaselineTests : IDisposable
{
    private const string MemtableEntries = "rocksdb.num-entries-active-mem-table";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void RawDatabase_PutsAsManyAsTheStoreBuffers_ReachRocksDbTogetherAsTheStoresDo()
    {
        using var raw = new RawDatabase(_temp.Sub("raw"), new RocksDbOptions());
        var value = B("v");

        for (var i = 0; i < RocksDbKeyValueStore.MaxPendingWrites - 1; i++)
        {
            raw.Put(B($"k{i:D5}"), value);
        }

        Assert.Equal(0UL, raw.GetIntProperty(MemtableEntries));
        raw.Put(B("last"), value);
        Assert.Equal((ulong)RocksDbKeyValueStore.MaxPendingWrites, raw.GetIntProperty(MemtableEntries));
    }

    [Fact]
    public void RawDatabase_GetAfterBufferedPut_ReadsItAsTheStoreDoes()
    {
        using var raw = new RawDatabase(_temp.Sub("raw"), new RocksDbOptions());

        raw.Put(B("a"), B("1"));

        Assert.Equal(B("1"), raw.GetPinned(B("a")));
        Assert.Equal(B("1"), raw.GetMalloced(B("a")));
    }
}
