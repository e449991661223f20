using Wal.Schemas.V1;

namespace Wal.Namespaces.Tests;

public sealed class ReservedTopicsTests
{
    private readonly NamespaceRegistry _registry = new([new NamespaceConfig { Name = "orders", Topic = "wal.orders", DeadLetterTopic = "wal.orders.dlq" }]);

    [Theory]
    [InlineData("wal.namespaces", "control-plane")]
    [InlineData("wal.orders", "the log of namespace 'orders'")]
    [InlineData("wal.orders.dlq", "the dead-letter topic of namespace 'orders'")]
    [InlineData("__consumer_offsets", "Kafka's internal topics")]
    [InlineData("wal-topology-timers-orders-changelog", "topology 'wal-topology'")]
    [InlineData("wal-topology-dead-letter", "topology 'wal-topology'")]
    public void WhyReserved_WalsOwnTopic_SaysWhose(string topic, string expected)
    {
        Assert.Contains(expected, ReservedTopics.WhyReserved(topic, _registry, applicationId: "wal-topology"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("orders.copy")]
    [InlineData("wal.orders.archive")]
    [InlineData("wal-topology")]
    public void WhyReserved_OtherTopic_Null(string topic)
    {
        Assert.Null(ReservedTopics.WhyReserved(topic, _registry, applicationId: "wal-topology"));
    }

    [Fact]
    public void WhyReserved_NamespaceCreatedLater_ItsTopicsReservedFromThen()
    {
        Assert.Null(ReservedTopics.WhyReserved("wal.late", _registry));

        _registry.Upsert(new NamespaceConfig { Name = "late", Topic = "wal.late", DeadLetterTopic = "wal.late.dlq" });

        Assert.NotNull(ReservedTopics.WhyReserved("wal.late", _registry));
    }
}
