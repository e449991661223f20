using Wal.Sinks.Cassandra.Messages;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>A request on the wire, waiting for the response with its stream id.</summary>
internal sealed class PendingRequest
{
    private const int Waiting = 0;
    private const int Answered = 1;
    private const int Abandoned = 2;

    private int _state;

    public TaskCompletionSource<CqlResponse> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The waiter gave up (timeout or cancellation). True if it did so before the answer came.</summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;

    /// <summary>The answer came. True if the waiter had already given up on it.</summary>
    public bool MarkAnswered() => Interlocked.Exchange(ref _state, Answered) == Abandoned;
}
