namespace Wal.Sinks.Tests;

/// <summary>The extra promise of sinks that hold one value per key: the newest version wins, deletes included.</summary>
public abstract class VersionGuardedSinkContractTests : SinkContractTests
{
    /// <summary>A delete of <paramref name="target"/>'s key, as the sink's target type expresses it.</summary>
    protected abstract Schemas.V1.Target AsDelete(Schemas.V1.Target target);

    [Fact]
    public async Task DeliverAsync_OlderVersionAfterNewer_SupersededAndNewerKept()
    {
        var target = NewTarget();
        var older = NextVersion();
        var newer = NextVersion();
        Assert.Equal(DeliveryOutcome.Delivered, (await Sink.DeliverAsync(NewDelivery(target, "newer", newer))).Outcome);

        var result = await Sink.DeliverAsync(NewDelivery(target, "older", older));

        Assert.Equal(DeliveryOutcome.Superseded, result.Outcome);
        Assert.Equal("newer", Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DeliverAsync_NewerVersionAfterOlder_Overwrites()
    {
        var target = NewTarget();
        Assert.Equal(DeliveryOutcome.Delivered, (await Sink.DeliverAsync(NewDelivery(target, "v1"))).Outcome);

        var result = await Sink.DeliverAsync(NewDelivery(target, "v2"));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("v2", Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DeliverAsync_DeleteNewerThanValue_RemovesIt()
    {
        var target = NewTarget();
        Assert.Equal(DeliveryOutcome.Delivered, (await Sink.DeliverAsync(NewDelivery(target, "value"))).Outcome);

        var result = await Sink.DeliverAsync(NewDelivery(AsDelete(target), string.Empty));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Null(await ReadCurrentAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_OlderSetAfterDelete_SupersededAndStaysDeleted()
    {
        var target = NewTarget();
        var olderSet = NextVersion();
        Assert.Equal(DeliveryOutcome.Delivered, (await Sink.DeliverAsync(NewDelivery(AsDelete(target), string.Empty))).Outcome);

        var result = await Sink.DeliverAsync(NewDelivery(target, "resurrected", olderSet));

        Assert.Equal(DeliveryOutcome.Superseded, result.Outcome);
        Assert.Null(await ReadCurrentAsync(target));
    }

    [Fact]
    public async Task DeliverAsync_DeleteOlderThanValue_SupersededAndValueKept()
    {
        var target = NewTarget();
        var olderDelete = NextVersion();
        Assert.Equal(DeliveryOutcome.Delivered, (await Sink.DeliverAsync(NewDelivery(target, "kept"))).Outcome);

        var result = await Sink.DeliverAsync(NewDelivery(AsDelete(target), string.Empty, olderDelete));

        Assert.Equal(DeliveryOutcome.Superseded, result.Outcome);
        Assert.Equal("kept", Text(await ReadCurrentAsync(target)));
    }
}
