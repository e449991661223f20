using Wal.Sinks;

namespace Wal.Topology.Tests;

/// <summary>
/// A sink whose answers the test scripts, for the processor's decisions under a manual clock.
/// Real sinks are tested against their real servers in Wal.Sinks.Tests and end to end.
/// </summary>
internal sealed class ScriptedSink : ISink
{
    private readonly Queue<DeliveryResult> _script = new();

    /// <summary>Every call, in order, with the time the test says it is.</summary>
    public List<Delivery> Calls { get; } = [];

    /// <summary>The answer once the script is used up.</summary>
    public DeliveryResult Otherwise { get; set; } = DeliveryResult.Delivered;

    public ScriptedSink Then(params DeliveryResult[] results)
    {
        foreach (var result in results)
        {
            _script.Enqueue(result);
        }

        return this;
    }

    public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        Calls.Add(delivery);
        return ValueTask.FromResult(_script.TryDequeue(out var result) ? result : Otherwise);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
