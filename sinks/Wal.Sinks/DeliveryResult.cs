namespace Wal.Sinks;

/// <summary>What became of a <see cref="Delivery"/>.</summary>
public readonly record struct DeliveryResult(DeliveryOutcome Outcome, string? Error = null)
{
    public static DeliveryResult Delivered { get; } = new(DeliveryOutcome.Delivered);

    public static DeliveryResult Superseded { get; } = new(DeliveryOutcome.Superseded);

    public static DeliveryResult Retriable(string error) => new(DeliveryOutcome.RetriableFailure, error);

    public static DeliveryResult Permanent(string error) => new(DeliveryOutcome.PermanentFailure, error);

    public bool Succeeded => Outcome is DeliveryOutcome.Delivered or DeliveryOutcome.Superseded;
}
