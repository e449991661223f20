namespace Wal.Sinks.Cassandra.Messages;

/// <summary>The &lt;type&gt; byte of BATCH (spec 4.1.7).</summary>
public enum CqlBatchType : byte
{
    /// <summary>Written to the batch log first: all statements apply, eventually.</summary>
    Logged = 0,

    /// <summary>No batch log: cheaper, statements may apply partially.</summary>
    Unlogged = 1,

    Counter = 2,
}
