namespace Wal.Streams;

/// <summary>
/// A node of a topology that receives records, and may forward records to its children, use state stores and schedule punctuators.
/// A new instance serves each task (see <see cref="TopologyBuilder.AddProcessor{TKeyIn, TValueIn, TKeyOut, TValueOut}"/>):
/// it is called by one thread at a time and needs no locking.
/// </summary>
public interface IProcessor<TKeyIn, TValueIn, TKeyOut, TValueOut>
{
    /// <summary>Called once when the task starts, after its stores are restored.</summary>
    void Init(IProcessorContext<TKeyOut, TValueOut> context);

    /// <summary>
    /// Processes one record. Returning a completed <see cref="ValueTask"/> keeps pure processors allocation-free;
    /// processors that call out (a sink, a cache) await. The task does not process the next record before this completes.
    /// </summary>
    ValueTask ProcessAsync(Record<TKeyIn, TValueIn> record);

    /// <summary>Called once when the task closes (rebalance, shutdown); release resources here, do not forward.</summary>
    void Close();
}
