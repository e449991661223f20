using System.Runtime.CompilerServices;
using Wal.RocksDb;
using static Wal.Streams.State.Tests.Keys;

namespace Wal.Streams.State.Tests;

/// <summary>The binding under the RocksDB store: the calls the store does not show through its contract.</summary>
public sealed class RocksDatabaseTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CreateIterator_UpperBound_StopsBeforeItAndSeekPositions()
    {
        using var db = RocksDatabase.Open(_temp.Sub("db"), new RocksDbOptions());
        foreach (var key in new[] { "a", "b", "c", "d" })
        {
            db.Put(B(key), B(key));
        }

        using var iterator = db.CreateIterator(B("c"));
        iterator.Seek(B("b"));
        var keys = new List<string>();
        for (; iterator.Valid; iterator.Next())
        {
            keys.Add(S(iterator.Key));
        }

        iterator.ThrowIfFailed();
        Assert.Equal(["b"], keys);
    }

    [Fact]
    public void CreateIterator_EmptyUpperBound_YieldsNothing()
    {
        using var db = RocksDatabase.Open(_temp.Sub("db"), new RocksDbOptions());
        db.Put([], B("empty key"));
        db.Put(B("a"), B("1"));

        using var iterator = db.CreateIterator(ReadOnlySpan<byte>.Empty);
        iterator.SeekToFirst();

        Assert.False(iterator.Valid);
    }

    [Fact]
    public void Write_BatchCountAndClear_ReflectOperations()
    {
        using var db = RocksDatabase.Open(_temp.Sub("db"), new RocksDbOptions());
        using var batch = new RocksDbWriteBatch().Put(B("a"), B("1")).Delete(B("b")).Put(B("c"), B("3"));

        Assert.Equal(3, batch.Count);
        db.Write(batch);
        batch.Clear();

        Assert.Equal(0, batch.Count);
        Assert.Equal(B("3"), db.Get(B("c")));
    }

    [Fact]
    public void GetIntProperty_UnknownName_IsNull()
    {
        using var db = RocksDatabase.Open(_temp.Sub("db"), new RocksDbOptions());

        Assert.Null(db.GetIntProperty("rocksdb.no-such-property"));
        Assert.Equal(0UL, db.GetIntProperty("rocksdb.estimate-num-keys"));
    }

    [Fact]
    public void Open_MissingDirectoryWithoutCreateIfMissing_ThrowsRocksDbText()
    {
        var path = _temp.Sub("absent");

        var error = Assert.Throws<RocksDbException>(() => RocksDatabase.Open(path, new RocksDbOptions { CreateIfMissing = false }));

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RocksDbCompression.None)]
    [InlineData(RocksDbCompression.Snappy)]
    [InlineData(RocksDbCompression.Lz4)]
    [InlineData(RocksDbCompression.Zstd)]
    public void Open_EachCompression_WritesFlushesAndReadsBack(RocksDbCompression compression)
    {
        var path = _temp.Sub("db");
        var value = new byte[4096];
        using (var db = RocksDatabase.Open(path, new RocksDbOptions { Compression = compression, BlockCacheSize = 0 }))
        {
            db.Put(B("k"), value);
            db.Flush();
        }

        using var reopened = RocksDatabase.Open(path, new RocksDbOptions { Compression = compression });
        Assert.Equal(value, reopened.Get(B("k")));
    }

    [Fact]
    public void Open_AbandonedWithOpenIterator_FinalizersCloseItInOrder()
    {
        var path = _temp.Sub("db");
        OpenAndAbandon(path);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        using var reopened = RocksDatabase.Open(path, new RocksDbOptions());
        Assert.Equal(B("1"), reopened.Get(B("a")));
    }

    [Fact]
    public void Iterator_AfterDatabaseDisposed_KeepsNativeDatabaseUntilDisposed()
    {
        var db = RocksDatabase.Open(_temp.Sub("db"), new RocksDbOptions());
        db.Put(B("a"), B("1"));
        using var iterator = db.CreateIterator();

        db.Dispose();
        iterator.SeekToFirst();

        Assert.True(iterator.Valid);
        Assert.Equal("a", S(iterator.Key));
        Assert.Throws<ObjectDisposedException>(() => db.Get(B("a")));
    }

    [Theory]
    [InlineData(nameof(RocksDbOptions.WriteBufferSize))]
    [InlineData(nameof(RocksDbOptions.MaxWriteBufferNumber))]
    [InlineData(nameof(RocksDbOptions.BlockCacheSize))]
    [InlineData(nameof(RocksDbOptions.BlockSize))]
    [InlineData(nameof(RocksDbOptions.BloomBitsPerKey))]
    [InlineData(nameof(RocksDbOptions.Compression))]
    [InlineData(nameof(RocksDbOptions.MaxOpenFiles))]
    [InlineData(nameof(RocksDbOptions.BackgroundThreads))]
    public void Open_InvalidOption_ThrowsNamingIt(string setting)
    {
        var options = setting switch
        {
            nameof(RocksDbOptions.WriteBufferSize) => new RocksDbOptions { WriteBufferSize = 10 },
            nameof(RocksDbOptions.MaxWriteBufferNumber) => new RocksDbOptions { MaxWriteBufferNumber = 0 },
            nameof(RocksDbOptions.BlockCacheSize) => new RocksDbOptions { BlockCacheSize = -1 },
            nameof(RocksDbOptions.BlockSize) => new RocksDbOptions { BlockSize = 1 },
            nameof(RocksDbOptions.BloomBitsPerKey) => new RocksDbOptions { BloomBitsPerKey = double.NaN },
            nameof(RocksDbOptions.Compression) => new RocksDbOptions { Compression = (RocksDbCompression)42 },
            nameof(RocksDbOptions.MaxOpenFiles) => new RocksDbOptions { MaxOpenFiles = 3 },
            _ => new RocksDbOptions { BackgroundThreads = 0 },
        };

        var error = Assert.Throws<ArgumentException>(() => RocksDatabase.Open(_temp.Sub("db"), options));

        Assert.Contains($"RocksDbOptions.{setting} = ", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Sub("db")));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OpenAndAbandon(string path)
    {
        var db = RocksDatabase.Open(path, new RocksDbOptions());
        db.Put(B("a"), B("1"));
        var iterator = db.CreateIterator();
        iterator.SeekToFirst();
        Assert.True(iterator.Valid);
    }
}
