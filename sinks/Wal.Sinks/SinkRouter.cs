using Wal.Schemas.V1;

namespace Wal.Sinks;

/// <summary>
/// The one sink the topology talks to: hands each delivery to the sink for its target's kind
/// (memcached, Cassandra, Kafka, upstream). A target kind with no sink configured fails
/// permanently, since no retry can configure one.
/// </summary>
public sealed class SinkRouter : ISink
{
    private readonly Dictionary<Target.DestinationOneofCase, ISink> _sinks;

    /// <param name="sinks">The sink for each target kind; one sink may serve several kinds.</param>
    public SinkRouter(IReadOnlyDictionary<Target.DestinationOneofCase, ISink> sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        if (sinks.ContainsKey(Target.DestinationOneofCase.None))
        {
            throw new ArgumentException("SinkRouter: a sink cannot be registered for targets without a destination.", nameof(sinks));
        }

        _sinks = sinks.ToDictionary(s => s.Key, s => s.Value ?? throw new ArgumentException($"SinkRouter: the sink for {s.Key} targets is null.", nameof(sinks)));
    }

    public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var kind = delivery.Target?.DestinationCase ?? Target.DestinationOneofCase.None;
        if (kind == Target.DestinationOneofCase.None)
        {
            return ValueTask.FromResult(DeliveryResult.Permanent($"Delivery {delivery.Id} has no target."));
        }

        return _sinks.TryGetValue(kind, out var sink)
            ? sink.DeliverAsync(delivery, cancellationToken)
            : ValueTask.FromResult(DeliveryResult.Permanent(
                $"No sink is configured for {kind} targets (configured: {(_sinks.Count == 0 ? "none" : string.Join(", ", _sinks.Keys))})."));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sink in _sinks.Values.Distinct())
        {
            await sink.DisposeAsync();
        }
    }
}
