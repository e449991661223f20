namespace Wal.Sinks.Cassandra.Messages;

/// <summary>A message the server sends (spec section 4.2), with the frame's tracing id and warnings.</summary>
public abstract record CqlResponse
{
    /// <summary>Present when the request asked for tracing (flag 0x02).</summary>
    public Guid? TracingId { get; init; }

    /// <summary>Server warnings (flag 0x08), e.g. a batch above the warn threshold.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
