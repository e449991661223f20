namespace Wal.Kafka.Embedded.Tests;

/// <summary>
/// What Wal asks Kafka's CreateTopics for. The mock cluster has no CreateTopics (and reports every broker as a replica of
/// every partition), so the request itself is what can be checked here.
/// </summary>
public sealed class TopicProvisioningTests
{
    [Fact]
    public void AdminTopicProvisioner_NoReplicationFactorNamed_LeavesItToTheBrokers()
    {
        // Asked for one replica, a three-broker cluster kept each acknowledged (acks=all) record on one broker only, and
        // lost it with that broker's disk. -1 is the brokers' default.replication.factor, as Kafka Streams asks for.
        var specification = AdminTopicProvisioner.Specification(new TopicSpec("wal.orders", Partitions: 3));

        Assert.Equal(-1, specification.ReplicationFactor);
        Assert.Equal(3, specification.NumPartitions);
    }
}
