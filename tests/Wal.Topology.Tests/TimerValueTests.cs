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
        rest.Headers.Add(new RecordHeader { Key = "traceparent", Value = ByteString.CopyFromUtf8("00-1-2-01") });
        var expected = rest.Clone();
        expected.Entry = entry;

        var composed = TimerValue.Compose(entry.ToByteArray(), rest);

        Assert.Equal(expected, PendingDelivery.Parser.ParseFrom(composed));
        Assert.Equal(expected.ToByteArray(), composed);
    }

    // Timers written before PendingDelivery kept the input's headers: fields 1 to 7 only.
    [Fact]
    public void Parse_ATimerWrittenWithoutHeaders_ReadsWithNone()
    {
        // Entry "old", 2 attempts, error "e", from wal.ns/2@12345, first attempt at 1,700,000,000,000.
        var pending = TimerValue.Parse(Convert.FromHexString("0A050A036F6C6410021A0165220677616C2E6E73280230B9603880D095FFBC31"));

        Assert.Equal("old", pending.Entry.Id);
        Assert.Equal("wal.ns", pending.SourceTopic);
        Assert.Equal(12_345, pending.SourceOffset);
        Assert.Empty(pending.Headers);
    }

    [Fact]
    public void Compose_WithoutEntryCarryingAnEntry_Throws() =>
        Assert.Throws<ArgumentException>(() => TimerValue.Compose([], new PendingDelivery { Entry = new LogEntry() }));
}
