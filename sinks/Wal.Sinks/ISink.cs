namespace Wal.Sinks;

/// <summary>
/// Delivers payloads to one kind of target. Delivery is at least once, so every sink must be
/// idempotent: delivering the same <see cref="Delivery"/> twice, or an older version after a newer
/// one, leaves the target as if only the newest had been delivered.
/// </summary>
public interface ISink : IAsyncDisposable
{
    /// <summary>
    /// Delivers one payload. Expected failures are returned, not thrown, classified by whether a
    /// retry can help; an exception means a bug or a cancelled token.
    /// </summary>
    ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default);

    /// <summary>
    /// Delivers <paramref name="deliveries"/> as if one after another in list order, stopping at the
    /// first that does not succeed. Every key ends as it would after delivering them one at a time:
    /// a sink may overlap writes of different keys (pipelining them), never two writes of one key.
    /// </summary>
    /// <returns>
    /// The outcomes of the leading deliveries, in order: all of them, or fewer ending with the first
    /// failure. Deliveries after a failure may or may not have reached the target; delivering them
    /// again is safe, since every sink is idempotent.
    /// </returns>
    ValueTask<IReadOnlyList<DeliveryResult>> DeliverInOrderAsync(IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken = default) =>
        DeliverOneAtATimeAsync(this, deliveries, cancellationToken);

    /// <summary>
    /// <see cref="DeliverInOrderAsync"/> for a sink with no faster way: each delivery awaited
    /// before the next, stopping at the first that does not succeed.
    /// </summary>
    static async ValueTask<IReadOnlyList<DeliveryResult>> DeliverOneAtATimeAsync(ISink sink, IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(deliveries);
        var results = new List<DeliveryResult>(deliveries.Count);
        foreach (var delivery in deliveries)
        {
            var result = await sink.DeliverAsync(delivery, cancellationToken);
            results.Add(result);
            if (!result.Succeeded)
            {
                break;
            }
        }

        return results;
    }
}
