namespace Wal.Streams.State.Tests;

public sealed class InMemoryKeyValueStoreTests : KeyValueStoreContractTests
{
    [Fact]
    public void Persistent_InMemory_IsFalse() => Assert.False(Store.Persistent);

    [Fact]
    public void ApproximateCount_OverwritesAndDeletes_IsExact()
    {
        Store.Put([1], [1]);
        Store.Put([1], [2]);
        Store.Put([2], [1]);
        Store.Put([3], [1]);
        Store.Delete([2]);

        Assert.Equal(2, Store.ApproximateCount);
    }

    protected override IKeyValueStore CreateStore(string name) => new InMemoryKeyValueStore(name);
}
