namespace Wal.Sinks;

/// <summary>What became of a <see cref="Delivery"/>.</summary>
public readonly record struct DeliveryResult(DeliveryOutcome Outcome, string? Error = null)
{
    public static DeliveryResult Delivered { get; } = new(DeliveryOutcome.Delivered);

    public static DeliveryResult Superseded { get; } = new(DeliveryOutcome.Superseded);

    public static DeliveryResult Retriable(string error) => new(DeliveryOutcome.RetriableFailure, error);

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
