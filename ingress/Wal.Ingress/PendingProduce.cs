namespace Wal.Ingress;

/// <summary>
/// One record awaiting its delivery report: completes its task with the classified outcome after
/// running the caller's release, so whatever the record reserved is given back exactly when Kafka
/// answers, not when (or whether) the caller stops waiting.
/// </summary>
internal sealed class PendingProduce(Action<string, int>? release, string owner, int bytes)
    // Asynchronous continuations: the delivery report arrives on librdkafka's one poll thread,
    // and running each caller's response there would queue every answer behind the others.
    : TaskCompletionSource<ProduceOutcome>(TaskCreationOptions.RunContinuationsAsynchronously), IProduceReport
{
    public void Answer(ProduceOutcome outcome)
    {
        try
        {
            release?.Invoke(owner, bytes);
        }
        finally
        {
            TrySetResult(outcome);
        }
    }
}
