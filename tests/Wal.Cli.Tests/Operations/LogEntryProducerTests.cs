using Confluent.Kafka;
using Wal.Cli.Operations;

namespace Wal.Cli.Tests.Operations;

/// <summary>
/// The producer of <c>wal replay</c> and <c>wal dlq redrive</c>. They write one record at a time and wait for its
/// acknowledgement before the next (that is what lets them say where they stopped), so no batch ever forms and a linger
/// only delays each record: with 5 ms of it, 2,000 records took 12.7 s on the embedded cluster, and a replay of a million
/// entries after an incident over an hour and a half; without, about 1 s. (Measured once, not timed here: a test's
/// timing would measure the machine's load.)
/// </summary>
public sealed class LogEntryProducerTests
{
    [Fact]
    public void Config_NoLinger_AndAcknowledgedByEveryReplica()
    {
        var config = LogEntryProducer.Config("127.0.0.1:9092");

        Assert.Equal(0, config.LingerMs);
        Assert.Equal(Acks.All, config.Acks);
        Assert.True(config.EnableIdempotence);
    }
}
