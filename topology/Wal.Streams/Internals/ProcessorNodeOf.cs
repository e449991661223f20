namespace Wal.Streams.Internals;

/// <summary>A user processor inside a task, with its own context.</summary>
internal sealed class ProcessorNode<TKeyIn, TValueIn, TKeyOut, TValueOut>(string name, IProcessor<TKeyIn, TValueIn, TKeyOut, TValueOut> processor)
    : ProcessorNode(name), INodeInput<TKeyIn, TValueIn>
{
    public override void Init(TaskContext task, IReadOnlySet<string> storeNames)
    {
        var context = new ProcessorContextImpl<TKeyOut, TValueOut>(task, Name, new Forwarder<TKeyOut, TValueOut>(Name, Children), storeNames);
        processor.Init(context);
    }

    public ValueTask ProcessAsync(Record<TKeyIn, TValueIn> record) => processor.ProcessAsync(record);

    public override void Close() => processor.Close();
}
