using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Errors;

/// <summary>The extra content some error codes carry after their message (spec section 9).</summary>
public abstract record CqlErrorDetails;

/// <summary>Unavailable: fewer replicas alive than the consistency level needs.</summary>
public sealed record UnavailableDetails(CqlConsistency Consistency, int Required, int Alive) : CqlErrorDetails;

/// <summary>Write_timeout: <see cref="WriteType"/> is SIMPLE, BATCH, UNLOGGED_BATCH, COUNTER or BATCH_LOG (later servers add CAS and others).</summary>
public sealed record WriteTimeoutDetails(CqlConsistency Consistency, int Received, int BlockFor, string WriteType) : CqlErrorDetails;

/// <summary>Read_timeout.</summary>
public sealed record ReadTimeoutDetails(CqlConsistency Consistency, int Received, int BlockFor, bool DataPresent) : CqlErrorDetails;

/// <summary>Read_failure: replicas failed (not timed out) while reading.</summary>
public sealed record ReadFailureDetails(CqlConsistency Consistency, int Received, int BlockFor, int NumFailures, bool DataPresent) : CqlErrorDetails;

/// <summary>Function_failure: a user-defined function threw.</summary>
public sealed record FunctionFailureDetails(string Keyspace, string Function, IReadOnlyList<string> ArgumentTypes) : CqlErrorDetails;

/// <summary>Write_failure: replicas failed (not timed out) while writing.</summary>
public sealed record WriteFailureDetails(CqlConsistency Consistency, int Received, int BlockFor, int NumFailures, string WriteType) : CqlErrorDetails;

/// <summary>Already_exists: <see cref="Table"/> is empty when the keyspace itself exists.</summary>
public sealed record AlreadyExistsDetails(string Keyspace, string Table) : CqlErrorDetails;

/// <summary>Unprepared: the node does not know this prepared id (restarted, or another node).</summary>
public sealed record UnpreparedDetails(ReadOnlyMemory<byte> PreparedId) : CqlErrorDetails;
