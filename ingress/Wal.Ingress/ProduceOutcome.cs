using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>What Kafka's answer (or its absence) means for a write's durability.</summary>
public readonly record struct ProduceOutcome(Trilean Durable, string Message, LogPosition? Position)
{
    public static ProduceOutcome Persisted(LogPosition position) => new(Trilean.True, string.Empty, position);

    /// <summary>Durable, but Kafka did not say at which offset: <paramref name="position"/>'s offset is -1.</summary>
    public static ProduceOutcome PersistedAtUnknownOffset(LogPosition position, string why) => new(Trilean.True, why, position);

    public static ProduceOutcome NotWritten(string reason) => new(Trilean.False, reason, null);

    public static ProduceOutcome Unknown(string reason) => new(Trilean.Unknown, reason, null);
}
