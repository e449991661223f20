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

    /// <summary>
    /// Hands each run of consecutive deliveries of one target kind to that kind's sink as one ordered
    /// call, so a sink that pipelines keeps doing so; the runs go one after another.
    /// </summary>
    public async ValueTask<IReadOnlyList<DeliveryResult>> DeliverInOrderAsync(IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        var results = new List<DeliveryResult>(deliveries.Count);
        var start = 0;
        while (start < deliveries.Count)
        {
            var kind = deliveries[start].Target?.DestinationCase ?? Target.DestinationOneofCase.None;
            if (kind == Target.DestinationOneofCase.None || !_sinks.TryGetValue(kind, out var sink))
            {
                results.Add(await DeliverAsync(deliveries[start], cancellationToken));
                return results;
            }

            var end = start + 1;
            while (end < deliveries.Count && deliveries[end].Target?.DestinationCase == kind)
            {
                end++;
            }

            var run = start == 0 && end == deliveries.Count ? deliveries : deliveries.Skip(start).Take(end - start).ToList();
            var outcomes = await sink.DeliverInOrderAsync(run, cancellationToken);
            results.AddRange(outcomes);
            if (outcomes.Count < run.Count || (outcomes.Count > 0 && !outcomes[^1].Succeeded))
            {
                return results;
            }

            start = end;
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sink in _sinks.Values.Distinct())
        {
            await sink.DisposeAsync();
        }
    }
}
