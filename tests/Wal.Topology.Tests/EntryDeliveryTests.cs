using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;
using Wal.Topology.Dispatch;

namespace Wal.Topology.Tests;

public sealed class EntryDeliveryTests
{
    [Fact]
    public void Version_WithOriginalWriteTime_IsItInMicroseconds()
    {
        var entry = new LogEntry
        {
            AcceptedAtMs = 5,
            Lifecycle = new Lifecycle { OriginalWriteTime = new Timestamp { Seconds = 1_700_000_000, Nanos = 123_456_789 } },
        };

        Assert.Equal(1_700_000_000_123_456, EntryDelivery.Version(entry));
    }

    [Fact]
    public void Version_WithoutOriginalWriteTime_IsTheAcceptTime()
    {
        Assert.Equal(1_700_000_000_123_000, EntryDelivery.Version(new LogEntry { AcceptedAtMs = 1_700_000_000_123 }));
    }

    [Fact]
    public void From_CarriesIdTargetAndPayload()
    {
        var target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "k" } };
        var entry = new LogEntry { Id = "a1", Target = target, Payload = ByteString.CopyFromUtf8("v"), AcceptedAtMs = 1 };

        var delivery = EntryDelivery.From(entry);

        Assert.Equal("a1", delivery.Id);
        Assert.Equal(target, delivery.Target);
        Assert.Equal("v"u8.ToArray(), delivery.Payload.ToArray());
    }
}
