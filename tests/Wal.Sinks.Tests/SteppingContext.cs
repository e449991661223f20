using System.Collections.Concurrent;

namespace Wal.Sinks.Tests;

/// <summary>
/// A SynchronizationContext with its own thread: the sink's awaits (none uses ConfigureAwait(false))
/// post their continuations here, and <see cref="BeforeEach"/> runs before each one, so a test can
/// act at an exact point between two awaits of the sink (no sleeps).
/// </summary>
internal sealed class SteppingContext : SynchronizationContext, IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = [];

    public SteppingContext() => new Thread(Pump) { IsBackground = true, Name = "stepping-context" }.Start();

    /// <summary>Runs on the context's thread before each posted continuation.</summary>
    public Action BeforeEach { get; set; } = () => { };

    public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();

    /// <summary>Starts <paramref name="work"/> on the context's thread and hands back its task.</summary>
    public Task<T> Run<T>(Func<Task<T>> work)
    {
        var started = new TaskCompletionSource<Task<T>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add((_ => started.SetResult(work()), null));
        return started.Task.Unwrap();
    }

    public void Dispose() => _queue.CompleteAdding();

    private void Pump()
    {
        SetSynchronizationContext(this);
        foreach (var (callback, state) in _queue.GetConsumingEnumerable())
        {
            BeforeEach();
            callback(state);
        }
    }
}
