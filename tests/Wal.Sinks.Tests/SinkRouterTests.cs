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

    [Fact]
    public async Task DeliverInOrderAsync_RunsOfTwoKinds_EachRunToItsSinkAsOneCallInOrder()
    {
        var kafka = new RecordingSink();
        var upstream = new RecordingSink();
        await using var router = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink>
        {
            [Target.DestinationOneofCase.Kafka] = kafka,
            [Target.DestinationOneofCase.Upstream] = upstream,
        });
        Delivery[] deliveries = [ToKafka("k1"), ToKafka("k2"), ToUpstream("u1"), ToKafka("k3")];

        var results = await router.DeliverInOrderAsync(deliveries);

        Assert.Equal(4, results.Count);
        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        Assert.Equal([["k1", "k2"], ["k3"]], kafka.OrderedCalls.Select(c => c.Select(d => d.Id)));
        Assert.Equal([["u1"]], upstream.OrderedCalls.Select(c => c.Select(d => d.Id)));
    }

    [Fact]
    public async Task DeliverInOrderAsync_FailureInARun_StopsThereAndLaterRunsAreNotSent()
    {
        var kafka = new RecordingSink();
        var upstream = new RecordingSink { FailId = "u2" };
        await using var router = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink>
        {
            [Target.DestinationOneofCase.Kafka] = kafka,
            [Target.DestinationOneofCase.Upstream] = upstream,
        });

        var results = await router.DeliverInOrderAsync([ToKafka("k1"), ToUpstream("u1"), ToUpstream("u2"), ToUpstream("u3"), ToKafka("k2")]);

        Assert.Equal([DeliveryOutcome.Delivered, DeliveryOutcome.Delivered, DeliveryOutcome.RetriableFailure], results.Select(r => r.Outcome));
        Assert.Equal(["k1"], kafka.Received.Select(d => d.Id));
    }

    [Fact]
    public async Task DeliverInOrderAsync_UnconfiguredKindInTheMiddle_PermanentThere()
    {
        var kafka = new RecordingSink();
        await using var router = new SinkRouter(new Dictionary<Target.DestinationOneofCase, ISink> { [Target.DestinationOneofCase.Kafka] = kafka });

        var results = await router.DeliverInOrderAsync([ToKafka("k1"), ToUpstream("u1"), ToKafka("k2")]);

        Assert.Equal([DeliveryOutcome.Delivered, DeliveryOutcome.PermanentFailure], results.Select(r => r.Outcome));
        Assert.Contains("Upstream", results[1].Error);
        Assert.Equal(["k1"], kafka.Received.Select(d => d.Id));
    }

    [Fact]
    public async Task DeliverInOrderAsync_SinkWithoutItsOwn_OneAtATimeStoppingAtTheFirstFailure()
    {
        ISink sink = new OneAtATimeSink { FailId = "b" };

        var results = await sink.DeliverInOrderAsync([ToKafka("a"), ToKafka("b"), ToKafka("c")]);

        Assert.Equal([DeliveryOutcome.Delivered, DeliveryOutcome.RetriableFailure], results.Select(r => r.Outcome));
        Assert.Equal(["a", "b"], ((OneAtATimeSink)sink).Received.Select(d => d.Id));
    }

    private static Delivery ToKafka(string id) => new(id, new Target { Kafka = new KafkaTarget { Topic = "t" } }, "x"u8.ToArray(), 1);

    private static Delivery ToUpstream(string id) => new(id, new Target { Upstream = new UpstreamTarget { Url = "http://localhost/" } }, "x"u8.ToArray(), 1);

    /// <summary>Only <see cref="ISink.DeliverAsync"/>: the interface's ordered default applies.</summary>
    private sealed class OneAtATimeSink : ISink
    {
        public List<Delivery> Received { get; } = [];

        public string? FailId { get; init; }

        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Received.Add(delivery);
            return ValueTask.FromResult(delivery.Id == FailId ? DeliveryResult.Retriable("scripted") : DeliveryResult.Delivered);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class RecordingSink : ISink
    {
        public List<Delivery> Received { get; } = [];

        public List<List<Delivery>> OrderedCalls { get; } = [];

        public string? FailId { get; init; }

        public int Disposals { get; private set; }

        public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
        {
            Received.Add(delivery);
            return ValueTask.FromResult(delivery.Id == FailId ? DeliveryResult.Retriable("scripted") : DeliveryResult.Delivered);
        }

        public ValueTask<IReadOnlyList<DeliveryResult>> DeliverInOrderAsync(IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken = default)
        {
            OrderedCalls.Add([.. deliveries]);
            return ISink.DeliverOneAtATimeAsync(this, deliveries, cancellationToken);
        }

        public ValueTask DisposeAsync()
        {
            Disposals++;
            return ValueTask.CompletedTask;
        }
    }
}
