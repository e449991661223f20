using System.Diagnostics.CodeAnalysis;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>
/// Hands out stream ids 0..n-1. Renting waits while all are in use, which bounds the requests in
/// flight on one connection (back-pressure instead of an error).
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "The semaphore never hands out a wait handle, so there is nothing to release; disposing it would turn a late Return racing with connection close into ObjectDisposedException.")]
internal sealed class StreamIdPool
{
    private readonly SemaphoreSlim _available;
    private readonly Stack<short> _free;
    private readonly Lock _lock = new();

    public StreamIdPool(int size)
    {
        _available = new SemaphoreSlim(size, size);
        _free = new Stack<short>(Enumerable.Range(0, size).Reverse().Select(i => (short)i));
    }

    public async ValueTask<short> RentAsync(CancellationToken cancellationToken)
    {
        await _available.WaitAsync(cancellationToken);
        lock (_lock)
        {
            return _free.Pop();
        }
    }

    public void Return(short id)
    {
        lock (_lock)
        {
            _free.Push(id);
        }

        _available.Release();
    }
}
