using System.Diagnostics;
using System.Text;
using Wal.Schemas.V1;

namespace Wal.Sinks.Tests;

/// <summary>
/// What every sink promises, run against each sink with its real server: delivery lands,
/// redelivery is harmless, and an outage is retriable and then recovers.
/// </summary>
public abstract class SinkContractTests
{
    private static long _versions = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

    protected abstract ISink Sink { get; }

    /// <summary>A target nobody else in the run uses.</summary>
    protected abstract Target NewTarget();

    /// <summary>What a reader of the target sees now (after deduplicating by delivery id where the target appends); null when nothing.</summary>
    protected abstract Task<byte[]?> ReadCurrentAsync(Target target);

    protected abstract Task StopTargetAsync();

    protected abstract Task StartTargetAsync();

    protected static long NextVersion() => Interlocked.Add(ref _versions, 10);

    protected static Delivery NewDelivery(Target target, string payload, long? version = null) =>
        new(Guid.NewGuid().ToString("N"), target, Encoding.UTF8.GetBytes(payload), version ?? NextVersion());

    [Fact]
    public async Task DeliverAsync_NewTarget_TargetHoldsPayload()
    {
        var target = NewTarget();

        var result = await Sink.DeliverAsync(NewDelivery(target, "first"));

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("first", Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DeliverAsync_SameDeliveryTwice_SecondChangesNothing()
    {
        var target = NewTarget();
        var delivery = NewDelivery(target, "once");
        Assert.Equal(DeliveryOutcome.Delivered, (await Sink.DeliverAsync(delivery)).Outcome);

        var again = await Sink.DeliverAsync(delivery);

        Assert.True(again.Succeeded, again.Error);
        Assert.Equal("once", Text(await ReadCurrentAsync(target)));
    }

    [Fact]
    public async Task DeliverAsync_TargetDown_RetriableThenDeliveredWhenBack()
    {
        var target = NewTarget();
        Assert.Equal(DeliveryOutcome.Delivered, (await Sink.DeliverAsync(NewDelivery(target, "before"))).Outcome);
        await StopTargetAsync();
        DeliveryResult down;
        try
        {
            down = await Sink.DeliverAsync(NewDelivery(target, "during"));
        }
        finally
        {
            await StartTargetAsync();
        }

        Assert.Equal(DeliveryOutcome.RetriableFailure, down.Outcome);
        Assert.False(string.IsNullOrEmpty(down.Error));

        // The first delivery after the restart may still meet a connection that died with the
        // old server; it must be retriable, and a retry within a short deadline must land.
        var after = NewDelivery(target, "after");
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 15;
        DeliveryResult result;
        do
        {
            result = await Sink.DeliverAsync(after);
            Assert.NotEqual(DeliveryOutcome.PermanentFailure, result.Outcome);
        }
        while (result.Outcome != DeliveryOutcome.Delivered && Stopwatch.GetTimestamp() < deadline);

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Equal("after", Text(await ReadCurrentAsync(target)));
    }

    protected static string? Text(byte[]? bytes) => bytes is null ? null : Encoding.UTF8.GetString(bytes);
}
