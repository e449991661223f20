using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Topology.Delay;

namespace Wal.Topology.Tests;

public sealed class DueTimeTests
{
    // Only an entry that asks to wait can have been stored as a first timer; the others cost no lookup when read again.
    [Theory]
    [InlineData("none", false)]
    [InlineData("empty", false)]
    [InlineData("delay", true)]
    [InlineData("deliver_at", true)]
    [InlineData("jitter", true)]
    [InlineData("zero jitter", false)]
    public void IsScheduled_OnlyForADelayADeliverAtOrAJitter(string lifecycle, bool scheduled)
    {
        var entry = new LogEntry
        {
            Id = "e",
            Lifecycle = lifecycle switch
            {
                "none" => null,
                "empty" => new Lifecycle(),
                "delay" => new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) },
                "deliver_at" => new Lifecycle { DeliverAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(1_763_776_800_000)) },
                "jitter" => new Lifecycle { Jitter = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)) },
                _ => new Lifecycle { Jitter = new Duration() },
            },
        };

        Assert.Equal(scheduled, DueTime.IsScheduled(entry));
    }
}
