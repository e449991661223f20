namespace Wal.Streams;

/// <summary>A convenient base for processors: keeps the context and makes <see cref="Init"/> and <see cref="Close"/> optional.</summary>
public abstract class Processor<TKeyIn, TValueIn, TKeyOut, TValueOut> : IProcessor<TKeyIn, TValueIn, TKeyOut, TValueOut>
{
    private IProcessorContext<TKeyOut, TValueOut>? _context;

    /// <summary>The context given to <see cref="Init"/>.</summary>
    protected IProcessorContext<TKeyOut, TValueOut> Context =>
        _context ?? throw new InvalidOperationException("The processor's context is available only after Init.");

    public virtual void Init(IProcessorContext<TKeyOut, TValueOut> context) => _context = context;

    public abstract ValueTask ProcessAsync(Record<TKeyIn, TValueIn> record);

    public virtual void Close()
    {
    }
}
