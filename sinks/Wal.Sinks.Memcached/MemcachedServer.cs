using System.Net;
using Wal.Sinks.Memcached.Protocol;

namespace Wal.Sinks.Memcached;

/// <summary>
/// The connections to one server: a few long-lived, pipelined connections used round-robin.
/// A failed connection is replaced by the next request that lands on its slot, which is how the
/// client reconnects after the server restarts.
/// </summary>
/// <remarks>
/// Disposal closes the connections and keeps any from being stored after: a connection that
/// finishes opening once the slots were emptied is closed at once (stored, it leaked its socket
/// and its loops), and a request racing disposal fails as a lost connection, retriable, not
/// with <see cref="ObjectDisposedException"/>. The connect gates are not disposed for the same
/// reason: a holder releasing a disposed one threw, and they hold no wait handle.
/// </remarks>
internal sealed class MemcachedServer : IAsyncDisposable
{
    private readonly EndPoint _endPoint;
    private readonly TimeSpan _connectTimeout;
    private readonly MemcachedConnection?[] _connections;
    private readonly SemaphoreSlim[] _connectGates;
    private readonly Func<long> _onConnected;
    // Guards storing a connection in a slot against disposal emptying the slots; reads take no lock.
    private readonly Lock _slotsGate = new();
    private int _next;
    private bool _disposed;

    // onConnected is called for each new connection and returns its generation.
    public MemcachedServer(EndPoint endPoint, int connections, TimeSpan connectTimeout, Func<long> onConnected)
    {
        _onConnected = onConnected;
        _endPoint = endPoint;
        _connectTimeout = connectTimeout;
        _connections = new MemcachedConnection?[connections];
        _connectGates = [.. Enumerable.Range(0, connections).Select(_ => new SemaphoreSlim(1, 1))];
    }

    public EndPoint EndPoint => _endPoint;

    public ValueTask<MemcachedConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed))
        {
            throw Disposed();
        }

        var slot = (int)((uint)Interlocked.Increment(ref _next) % (uint)_connections.Length);
        var connection = Volatile.Read(ref _connections[slot]);
        return connection is { IsAlive: true } ? ValueTask.FromResult(connection) : new ValueTask<MemcachedConnection>(ReconnectAsync(slot, cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        MemcachedConnection?[] open;
        lock (_slotsGate)
        {
            _disposed = true;
            open = [.. _connections];
            Array.Clear(_connections);
        }

        foreach (var connection in open)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private async Task<MemcachedConnection> ReconnectAsync(int slot, CancellationToken cancellationToken)
    {
        await _connectGates[slot].WaitAsync(cancellationToken);
        try
        {
            var current = Volatile.Read(ref _connections[slot]);
            if (current is { IsAlive: true })
            {
                return current;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // Capped as a timer takes it: CancelAfter throws past 2^32 - 2 ms (49.7 days), and no connection was ever made.
            timeout.CancelAfter(DeliveryBudget.ForEach(_connectTimeout, 1));
            MemcachedConnection fresh;
            try
            {
                fresh = await MemcachedConnection.ConnectAsync(_endPoint, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new MemcachedConnectionException($"Connecting to memcached at {_endPoint} timed out after {_connectTimeout.TotalMilliseconds} ms.");
            }

            fresh.Generation = _onConnected();
            if (!TryStore(slot, fresh))
            {
                await fresh.DisposeAsync();
                throw Disposed();
            }

            if (current is not null)
            {
                await current.DisposeAsync();
            }

            return fresh;
        }
        finally
        {
            _connectGates[slot].Release();
        }
    }

    private bool TryStore(int slot, MemcachedConnection connection)
    {
        lock (_slotsGate)
        {
            if (_disposed)
            {
                return false;
            }

            Volatile.Write(ref _connections[slot], connection);
            return true;
        }
    }

    private MemcachedConnectionException Disposed() => new($"The connections to memcached at {_endPoint} were closed: the client was disposed.");
}
