namespace Wal.Sinks;

/// <summary>What became of a <see cref="Delivery"/>.</summary>
/// <param name="Outcome">Delivered, superseded, or how it failed.</param>
/// <param name="Error">Why it failed.</param>
/// <param name="RetryAfter">For a retriable failure, how long the target asked to be left alone (an HTTP Retry-After).</param>
public readonly record struct DeliveryResult(DeliveryOutcome Outcome, string? Error = null, TimeSpan? RetryAfter = null)
{
    public static DeliveryResult Delivered { get; } = new(DeliveryOutcome.Delivered);

    public static DeliveryResult Superseded { get; } = new(DeliveryOutcome.Superseded);

    public static DeliveryResult Retriable(string error, TimeSpan? retryAfter = null) => new(DeliveryOutcome.RetriableFailure, error, retryAfter);

    public static DeliveryResult Permanent(string error) => new(DeliveryOutcome.PermanentFailure, error);

    /// <summary>
    /// The answer for a sink that threw instead of answering (a bug, a setting it could not use): retriable, so the
    /// record is retried and then dead-lettered with the error, where the exception would have failed the stream
    /// thread and stopped every namespace on it.
    /// </summary>
    public static DeliveryResult Threw(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Retriable($"the sink failed unexpectedly ({error.GetType().Name}): {error.Message}");
    }

    public bool Succeeded => Outcome is DeliveryOutcome.Delivered or DeliveryOutcome.Superseded;
}
