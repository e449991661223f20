using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>What Kafka's answer (or its absence) means for a write's durability.</summary>
public readonly record struct ProduceOutcome(Trilean Durable, string Message, LogPosition? Position)
{
    public static ProduceOutcome Persisted(LogPosition position) => new(Trilean.True, string.Empty, position);

    public static ProduceOutcome NotWritten(string reason) => new(Trilean.False, reason, null);

    public static ProduceOutcome Unknown(string reason) => new(Trilean.Unknown, reason, null);
}
