using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Topology.Delay;
using Wal.Topology.State;

namespace Wal.Topology.Tests;

public sealed class TimerValueTests
{
    [Fact]
    public void Compose_EntryBytesAndOtherFields_ParsesAsTheWholePendingDelivery()
    {
        var entry = new LogEntry
        {
            Id = "entry-1",
            Namespace = "ns",
            AcceptedAtMs = 1_700_000_000_000,
            Payload = ByteString.CopyFrom(Enumerable.Range(0, 300).Select(i => (byte)i).ToArray()),
            Lifecycle = new Lifecycle { Delay = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) },
        };
        var rest = new PendingDelivery { FirstAttemptMs = 1_700_000_000_000, SourceTopic = "wal.ns", SourcePartition = 2, SourceOffset = 12_345, Attempts = 1, LastError = "e" };
        var expected = rest.Clone();
        expected.Entry = entry;

        var composed = TimerValue.Compose(entry.ToByteArray(), rest);

        Assert.Equal(expected, PendingDelivery.Parser.ParseFrom(composed));
        Assert.Equal(expected.ToByteArray(), composed);
    }

    [Fact]
    public void Compose_WithoutEntryCarryingAnEntry_Throws() =>
        Assert.Throws<ArgumentException>(() => TimerValue.Compose([], new PendingDelivery { Entry = new LogEntry() }));
}
