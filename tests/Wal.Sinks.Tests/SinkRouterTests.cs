using Wal.Schemas.V1;

namespace Wal.Sinks.Tests;

public sealed class SinkRouterTests
{
    [Fact]
    public async Task DeliverAsync_ConfiguredKind_GoesToThatSinkOnly()
    {
        var kafka = new RecordingSink();
        var upstream = new RecordingSink();
        await using var router = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink>
        {
            [Target.DestinationOneofCase.Kafka] = kafka,
            [Target.DestinationOneofCase.Upstream] = upstream,
        });
        var delivery = new Delivery("id", new Target { Kafka = new KafkaTarget { Topic = "t" } }, "x"u8.ToArray(), 1);

        var result = await router.DeliverAsync(delivery);

        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.Same(delivery, Assert.Single(kafka.Received));
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task DeliverAsync_UnconfiguredKind_PermanentFailureNamingIt()
    {
        await using var router = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink> { [Target.DestinationOneofCase.Kafka] = new RecordingSink() });
        var delivery = new Delivery("id", new Target { Cassandra = new CassandraTarget { Table = "t" } }, "x"u8.ToArray(), 1);

        var result = await router.DeliverAsync(delivery);

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("Cassandra", result.Error);
        Assert.Contains("Kafka", result.Error);
    }

    [Fact]
    public async Task DeliverAsync_NoTarget_PermanentFailure()
    {
        await using var router = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink>());

        var result = await router.DeliverAsync(new Delivery("id", new Target(), "x"u8.ToArray(), 1));

        Assert.Equal(DeliveryOutcome.PermanentFailure, result.Outcome);
        Assert.Contains("no target", result.Error);
    }

    [Fact]
    public async Task DisposeAsync_SinkServingTwoKinds_DisposedOnce()
    {
        var shared = new RecordingSink();
        var router = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink>
        {
            [Target.DestinationOneofCase.Kafka] = shared,
            [Target.DestinationOneofCase.Upstream] = shared,
        });

        await router.DisposeAsync();

        Assert.Equal(1, shared.Disposals);
    }

    private sealed class RecordingSink : ISink
    {
        public List<Delivery> Received { get; } = [];

        public int Disposals { get; private set; }

        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Received.Add(delivery);
            return ValueTask.FromResult(DeliveryResult.Delivered);
        }

        public ValueTask DisposeAsync()
        {
            Disposals++;
            return ValueTask.CompletedTask;
        }
    }
}
