using Wal.Schemas.V1;

namespace Wal.Sinks;

/// <summary>One payload on its way to a target.</summary>
/// <param name="Id">The record's id, stable across redeliveries.</param>
/// <param name="Target">Where it goes.</param>
/// <param name="Payload">The bytes to write.</param>
/// <param name="Version">
/// Monotonic version (the original write time in microseconds, or a mutation's version). Sinks
/// write conditionally on it so that a redelivered older version never overwrites a newer one.
/// </param>
public sealed record Delivery(string Id, Target Target, ReadOnlyMemory<byte> Payload, long Version);
