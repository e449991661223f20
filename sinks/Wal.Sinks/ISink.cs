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
}
