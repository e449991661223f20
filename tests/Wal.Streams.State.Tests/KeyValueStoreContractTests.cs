using static Wal.Streams.State.Tests.Keys;

namespace Wal.Streams.State.Tests;

/// <summary>What every <see cref="IKeyValueStore"/> must do; each implementation derives and supplies its store.</summary>
public abstract class KeyValueStoreContractTests : IDisposable
{
    private readonly Lazy<IKeyValueStore> _store;

    protected KeyValueStoreContractTests() => _store = new Lazy<IKeyValueStore>(() => CreateStore("contract-store"));

    protected IKeyValueStore Store => _store.Value;

    public static TheoryData<string?, string?, string> Bounds => new()
    {
        { null, null, "a,b,c,d" },
        { "b", null, "b,c,d" },
        { null, "c", "a,b" },
        { "b", "d", "b,c" },
        { "bb", null, "c,d" },
        { null, "bb", "a,b" },
        { "a", "e", "a,b,c,d" },
        { "b", "b", "" },
        { "c", "b", "" },
        { "e", null, "" },
        { null, "a", "" },
    };

    /// <summary>A new, empty store; the base disposes it.</summary>
    protected abstract IKeyValueStore CreateStore(string name);

    public virtual void Dispose()
    {
        if (_store.IsValueCreated)
        {
            _store.Value.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public void Name_AsCreated_IsReported() => Assert.Equal("contract-store", Store.Name);

    [Fact]
    public void Get_MissingKey_ReturnsNull() => Assert.Null(Store.Get(B("missing")));

    [Fact]
    public void Put_ThenGet_ReturnsValue()
    {
        Store.Put(B("k"), B("v"));

        Assert.Equal(B("v"), Store.Get(B("k")));
    }

    [Fact]
    public void PutOwned_ThenDeleteOwned_StoresThenRemovesTheValue()
    {
        Store.PutOwned(B("k"), B("v"));
        Assert.Equal(B("v"), Store.Get(B("k")));

        Store.DeleteOwned(B("k"));

        Assert.Null(Store.Get(B("k")));
    }

    [Fact]
    public void Put_ExistingKey_LastValueWins()
    {
        Store.Put(B("k"), B("first"));
        Store.Put(B("k"), B("second, longer"));
        Store.Put(B("k"), B("3"));

        Assert.Equal(B("3"), Store.Get(B("k")));
        Assert.Equal(["k"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Put_EmptyValue_GetReturnsEmptyNotNull()
    {
        Store.Put(B("k"), []);

        var value = Store.Get(B("k"));

        Assert.NotNull(value);
        Assert.Empty(value);
    }

    [Fact]
    public void Put_EmptyKey_IsAnOrdinaryKeySortedFirst()
    {
        Store.Put(B("a"), B("1"));
        Store.Put([], B("empty"));

        Assert.Equal(B("empty"), Store.Get([]));
        Assert.Equal(["", "a"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Put_CallerChangesItsBuffersAfterwards_StoreKeepsItsOwnCopy()
    {
        var key = B("k");
        var value = B("v");
        Store.Put(key, value);

        key[0] = (byte)'x';
        value[0] = (byte)'y';
        Store.Get(B("k"))![0] = (byte)'z';

        Assert.Equal(B("v"), Store.Get(B("k")));
        Assert.Null(Store.Get(B("x")));
    }

    [Fact]
    public void Put_LargeValue_RoundTrips()
    {
        var value = new byte[1 << 20];
        new Random(7).NextBytes(value);

        Store.Put(B("big"), value);

        Assert.Equal(value, Store.Get(B("big")));
    }

    [Fact]
    public void Delete_ExistingKey_GetReturnsNullAndRangeSkipsIt()
    {
        Store.Put(B("a"), B("1"));
        Store.Put(B("b"), B("2"));

        Store.Delete(B("a"));

        Assert.Null(Store.Get(B("a")));
        Assert.Equal(["b"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Delete_MissingKey_ChangesNothing()
    {
        Store.Put(B("a"), B("1"));

        Store.Delete(B("missing"));

        Assert.Equal(B("1"), Store.Get(B("a")));
    }

    [Fact]
    public void Range_BinaryKeys_UnsignedByteOrder()
    {
        byte[][] keys = [[0xFF], [0x00], [0x7F], [0x80], [0x00, 0x00], [0xFF, 0x00], [0x01, 0xFF], [0x00, 0xFF]];
        foreach (var key in keys)
        {
            Store.Put(key, key);
        }

        var scanned = Drain(Store.Range(null, null));

        byte[][] expected = [[0x00], [0x00, 0x00], [0x00, 0xFF], [0x01, 0xFF], [0x7F], [0x80], [0xFF], [0xFF, 0x00]];
        Assert.Equal(expected, scanned.Select(e => e.Key));
        Assert.All(scanned, e => Assert.Equal(e.Key, e.Value));
    }

    [Fact]
    public void Range_BoundsWithZeroAndFfBytes_AreHalfOpen()
    {
        byte[][] keys = [[0x00], [0x00, 0x00], [0x01], [0xFF], [0xFF, 0xFF]];
        foreach (var key in keys)
        {
            Store.Put(key, []);
        }

        var scanned = Drain(Store.Range([0x00, 0x00], [0xFF, 0xFF])).Select(e => e.Key);

        Assert.Equal([[0x00, 0x00], [0x01], [0xFF]], scanned);
    }

    [Theory]
    [MemberData(nameof(Bounds))]
    public void Range_Bounds_FromInclusiveToExclusiveNullOpen(string? from, string? to, string expected)
    {
        foreach (var key in new[] { "d", "b", "a", "c" })
        {
            Store.Put(B(key), B(key.ToUpperInvariant()));
        }

        var scanned = Drain(Store.Range(from is null ? null : B(from), to is null ? null : B(to)));

        Assert.Equal(expected, string.Join(',', scanned.Select(e => S(e.Key))));
        Assert.All(scanned, e => Assert.Equal(S(e.Key).ToUpperInvariant(), S(e.Value)));
    }

    [Fact]
    public void Range_EmptyStore_YieldsNothing() => Assert.Empty(Drain(Store.Range(null, null)));

    [Fact]
    public void Range_RandomKeys_MatchesSortedReference()
    {
        var random = new Random(42);
        var reference = new SortedDictionary<byte[], byte[]>(Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y)));
        for (var i = 0; i < 2_000; i++)
        {
            var key = new byte[random.Next(0, 6)];
            random.NextBytes(key);
            var value = new byte[random.Next(0, 20)];
            random.NextBytes(value);
            Store.Put(key, value);
            reference[key] = value;
        }

        for (var i = 0; i < 20; i++)
        {
            var from = random.Next(3) == 0 ? null : RandomKey(random);
            var to = random.Next(3) == 0 ? null : RandomKey(random);

            var expected = reference.Where(e => (from is null || e.Key.AsSpan().SequenceCompareTo(from) >= 0)
                && (to is null || e.Key.AsSpan().SequenceCompareTo(to) < 0)).ToList();
            var scanned = Drain(Store.Range(from, to));

            Assert.Equal(expected.Select(e => e.Key), scanned.Select(e => e.Key));
            Assert.Equal(expected.Select(e => e.Value), scanned.Select(e => e.Value));
        }
    }

    [Fact]
    public void Range_WritesWhileIterating_IteratorSeesStoreAsItWasAtRange()
    {
        Store.Put(B("a"), B("1"));
        Store.Put(B("b"), B("2"));
        Store.Put(B("c"), B("3"));

        using var iterator = Store.Range(null, null);
        Assert.True(iterator.MoveNext());
        Store.Delete(B("b"));
        Store.Put(B("c"), B("changed"));
        Store.Put(B("d"), B("4"));
        var rest = new List<string>();
        while (iterator.MoveNext())
        {
            rest.Add($"{S(iterator.Key)}={S(iterator.Value)}");
        }

        Assert.Equal(["b=2", "c=3"], rest);
        Assert.Equal(["a", "c", "d"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Range_DeleteEachEntryWhileIterating_EmptiesTheRange()
    {
        for (var i = 0; i < 10; i++)
        {
            Store.Put(B($"due-{i}"), B("x"));
        }

        Store.Put(B("later"), B("x"));

        using (var iterator = Store.Range(null, B("e")))
        {
            while (iterator.MoveNext())
            {
                Store.Delete(iterator.Key);
            }
        }

        Assert.Equal(["later"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Iterator_KeyBeforeMoveNext_Throws()
    {
        Store.Put(B("a"), B("1"));
        using var iterator = Store.Range(null, null);

        Assert.Throws<InvalidOperationException>(() => iterator.Key.Length);
    }

    [Fact]
    public void Iterator_PastTheEnd_MoveNextStaysFalseAndValueThrows()
    {
        Store.Put(B("a"), B("1"));
        using var iterator = Store.Range(null, null);
        Assert.True(iterator.MoveNext());

        Assert.False(iterator.MoveNext());
        Assert.False(iterator.MoveNext());
        Assert.Throws<InvalidOperationException>(() => iterator.Value.Length);
    }

    [Fact]
    public void Iterator_AfterDispose_ThrowsObjectDisposed()
    {
        Store.Put(B("a"), B("1"));
        var iterator = Store.Range(null, null);
        Assert.True(iterator.MoveNext());

        iterator.Dispose();
        iterator.Dispose();

        Assert.Throws<ObjectDisposedException>(() => iterator.MoveNext());
        Assert.Throws<ObjectDisposedException>(() => iterator.Key.Length);
    }

    [Fact]
    public void Iterator_StoreDisposed_ThrowsObjectDisposed()
    {
        Store.Put(B("a"), B("1"));
        Store.Put(B("b"), B("2"));
        var iterator = Store.Range(null, null);
        Assert.True(iterator.MoveNext());

        Store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => iterator.MoveNext());
        iterator.Dispose();
    }

    [Fact]
    public void Write_Batch_AppliesOperationsInOrderLaterWins()
    {
        Store.Put(B("gone"), B("old"));
        var batch = new WriteBatch()
            .Put(B("a"), B("1"))
            .Put(B("b"), B("2"))
            .Delete(B("a"))
            .Put(B("c"), B("3"))
            .Put(B("c"), B("4"))
            .Delete(B("gone"))
            .Delete(B("d"))
            .Put(B("d"), B("5"));

        Store.Write(batch);

        Assert.Equal(["b=2", "c=4", "d=5"], Drain(Store.Range(null, null)).Select(e => $"{S(e.Key)}={S(e.Value)}"));
    }

    [Fact]
    public void Write_IteratorOpenedBefore_SeesNoneOfTheBatch()
    {
        Store.Put(B("a"), B("1"));
        using var before = Store.Range(null, null);

        Store.Write(new WriteBatch().Put(B("b"), B("2")).Delete(B("a")).Put(B("c"), B("3")));

        Assert.True(before.MoveNext());
        Assert.Equal("a=1", $"{S(before.Key)}={S(before.Value)}");
        Assert.False(before.MoveNext());
        Assert.Equal(["b", "c"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Write_EmptyBatch_ChangesNothing()
    {
        Store.Put(B("a"), B("1"));

        Store.Write(new WriteBatch());

        Assert.Equal(["a"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Write_SameBatchTwice_IsIdempotent()
    {
        var batch = new WriteBatch().Put(B("a"), B("1")).Put(B("b"), B("2"));

        Store.Write(batch);
        Store.Write(batch);

        Assert.Equal(["a", "b"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void ApproximateCount_EmptyStore_IsZero() => Assert.Equal(0, Store.ApproximateCount);

    [Fact]
    public void ApproximateCount_DistinctPuts_CountsThem()
    {
        for (var i = 0; i < 500; i++)
        {
            Store.Put(B($"key-{i:D4}"), B("v"));
        }

        Assert.InRange(Store.ApproximateCount, 450, 550);
    }

    [Fact]
    public void ApproximateCount_AfterFlush_StillCountsThem()
    {
        for (var i = 0; i < 500; i++)
        {
            Store.Put(B($"key-{i:D4}"), B("v"));
        }

        Store.Flush();

        Assert.InRange(Store.ApproximateCount, 450, 550);
    }

    [Fact]
    public void Flush_AfterWrites_DataStillReadable()
    {
        Store.Put(B("a"), B("1"));
        Store.Write(new WriteBatch().Put(B("b"), B("2")));

        Store.Flush();
        Store.Put(B("c"), B("3"));

        Assert.Equal(B("1"), Store.Get(B("a")));
        Assert.Equal(["a", "b", "c"], DrainKeys(Store.Range(null, null)));
    }

    [Fact]
    public void Dispose_Twice_DoesNotThrow()
    {
        Store.Dispose();
        Store.Dispose();
    }

    [Fact]
    public void Dispose_ThenAnyOperation_ThrowsObjectDisposed()
    {
        Store.Put(B("a"), B("1"));

        Store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => Store.Get(B("a")));
        Assert.Throws<ObjectDisposedException>(() => Store.Put(B("a"), B("2")));
        Assert.Throws<ObjectDisposedException>(() => Store.Delete(B("a")));
        Assert.Throws<ObjectDisposedException>(() => Store.Write(new WriteBatch().Put(B("b"), B("2"))));
        Assert.Throws<ObjectDisposedException>(() => Store.Range(null, null));
        Assert.Throws<ObjectDisposedException>(() => Store.ApproximateCount);
        Assert.Throws<ObjectDisposedException>(Store.Flush);
    }

    private static byte[] RandomKey(Random random)
    {
        var key = new byte[random.Next(0, 4)];
        random.NextBytes(key);
        return key;
    }
}
