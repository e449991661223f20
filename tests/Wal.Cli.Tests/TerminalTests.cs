using Wal.Schemas.V1;

namespace Wal.Cli.Tests;

public sealed class TerminalTests
{
    [Fact]
    public void Position_KnownOffset_TopicPartitionAtOffset()
    {
        var response = new WriteToLogResponse { Durable = Trilean.True, Position = new LogPosition { Topic = "wal.orders", Partition = 2, Offset = 41 } };

        Assert.Equal(" at wal.orders/2@41", Terminal.Position(response));
    }

    [Fact]
    public void Position_OffsetKafkaDidNotGive_SaysUnknownAndWhy()
    {
        // A broker's DUPLICATE_SEQUENCE_NUMBER: durable, offset -1. "@-1" read as an address that does not exist.
        var response = new WriteToLogResponse
        {
            Durable = Trilean.True,
            Message = "Kafka already held this record from an earlier send of it",
            Position = new LogPosition { Topic = "wal.orders", Partition = 2, Offset = -1 },
        };

        Assert.Equal(" at wal.orders/2, offset unknown (Kafka already held this record from an earlier send of it)", Terminal.Position(response));
    }
}
