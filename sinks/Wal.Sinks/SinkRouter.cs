using Wal.Schemas.V1;

namespace Wal.Sinks;

/// <summary>
/// Sends each delivery to the sink for its kind of target. Routing a namespace elsewhere is a
/// configuration change (its default target, or the request's), never a code change.
/// </summary>
public sealed class SinkRouter : ISink
{
    private readonly IReadOnlyDictionary<Target.DestinationOneofCase, ISink> _sinks;

    public SinkRouter(IReadOnlyDictionary<Target.DestinationOneofCase, ISink> sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        _sinks = sinks;
    }

    public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var kind = delivery.Target.DestinationCase;
        if (kind == Target.DestinationOneofCase.None)
        {
            return ValueTask.FromResult(DeliveryResult.Permanent("the record has no target, and its namespace no default target"));
        }

        return _sinks.TryGetValue(kind, out var sink)
            ? sink.DeliverAsync(delivery, cancellationToken)
            : ValueTask.FromResult(DeliveryResult.Permanent($"no {kind} sink is configured on this instance"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sink in _sinks.Values.Distinct())
        {
            await sink.DisposeAsync();
        }
    }
}
