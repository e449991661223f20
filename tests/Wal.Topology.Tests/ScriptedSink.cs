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

    /// <summary>Answers by the delivery itself, ahead of the script, where it gives an answer.</summary>
    public Func<Delivery, DeliveryResult?>? AnswerBy { get; set; }

    /// <summary>Runs inside each delivery, before it is answered: a test looks at the world while a delivery is in flight.</summary>
    public Action<Delivery>? WhileDelivering { get; set; }

    public ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        Calls.Add(delivery);
        WhileDelivering?.Invoke(delivery);
        if (AnswerBy?.Invoke(delivery) is { } answer)
        {
            return ValueTask.FromResult(answer);
        }

        return ValueTask.FromResult(_script.TryDequeue(out var result) ? result : Otherwise);
    }

    /// <summary>The ids of each ordered call (a mutation's apply), in order; its deliveries are in <see cref="Calls"/> too.</summary>
    public List<List<string>> OrderedCalls { get; } = [];

    /// <summary>Answers from the script one delivery at a time, stopping at the first failure, as the interface's default does.</summary>
    public ValueTask<IReadOnlyList<DeliveryResult>> DeliverInOrderAsync(IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken = default)
    {
        OrderedCalls.Add([.. deliveries.Select(d => d.Id)]);
        return ISink.DeliverOneAtATimeAsync(this, deliveries, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
