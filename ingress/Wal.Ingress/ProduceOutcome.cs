using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>What Kafka's answer (or its absence) means for a write's durability.</summary>
public readonly record struct ProduceOutcome(Trilean Durable, string Message, LogPosition? Position)
{
    public static ProduceOutcome Persisted(LogPosition position) => new(Trilean.True, string.Empty, position);

    /// <summary>Durable, but Kafka did not say at which offset: <paramref name="position"/>'s offset is -1.</summary>
    public static ProduceOutcome PersistedAtUnknownOffset(LogPosition position, string why) => new(Trilean.True, why, position);

    public static ProduceOutcome NotWritten(string reason) => new(Trilean.False, reason, null);

    /// <summary>
    /// Not written because the producer's own queue was full: load shed, as at the ingress's in-flight bounds, so
    /// the caller is told RESOURCE_EXHAUSTED (retry later), not a verdict on the record.
    /// </summary>
    public static ProduceOutcome Shed(string reason) => new(Trilean.False, reason, null) { WasShed = true };

    /// <summary>True for <see cref="Shed"/>: refused for the instance's load, not for anything about the record.</summary>
    public bool WasShed { get; init; }

    public static ProduceOutcome Unknown(string reason) => new(Trilean.Unknown, reason, null);
}
