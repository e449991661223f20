using System.Text;
using Wal.Benchmarks.RocksDb;
using Wal.RocksDb;
using Wal.Streams.State;

namespace Wal.Benchmarks.Tests;

/// <summary>
/// The rocksdb-store benchmark divides the store's put rate by its raw side's: that measures the binding's cost only if
/// the raw side makes the store's native calls, puts collected in a write batch applied every
/// <see cref="RocksDbKeyValueStore.MaxPendingWrites"/>, not one <c>rocksdb_put</c> (one trip through RocksDB's write path) each.
/// </summary>
public sealed class RocksDbBaselineTests : IDisposable
{
    private const string MemtableEntries = "rocksdb.num-entries-active-mem-table";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"wal-bench-rocksdb-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void RawDatabase_PutsAsManyAsTheStoreBuffers_ReachRocksDbTogetherAsTheStoresDo()
    {
        using var raw = new RawDatabase(_directory, new RocksDbOptions());
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
        using var raw = new RawDatabase(_directory, new RocksDbOptions());

        raw.Put(B("a"), B("1"));

        Assert.Equal(B("1"), raw.GetPinned(B("a")));
        Assert.Equal(B("1"), raw.GetMalloced(B("a")));
    }
}
