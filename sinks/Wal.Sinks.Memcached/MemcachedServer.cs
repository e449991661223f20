using System.Net;
using Wal.Sinks.Memcached.Protocol;

namespace Wal.Sinks.Memcached;

/// <summary>
/// The connections to one server: a few long-lived, pipelined connections used round-robin.
/// A failed connection is replaced by the next request that lands on its slot, which is how the
/// client reconnects after the server restarts.
/// </summary>
internal sealed class MemcachedServer : IAsyncDisposable
{
    private readonly EndPoint _endPoint;
    private readonly TimeSpan _connectTimeout;
    private readonly MemcachedConnection?[] _connections;
    private readonly SemaphoreSlim[] _connectGates;
    private readonly Func<long> _onConnected;
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
        ObjectDisposedException.ThrowIf(_disposed, this);
        var slot = (int)((uint)Interlocked.Increment(ref _next) % (uint)_connections.Length);
        var connection = Volatile.Read(ref _connections[slot]);
        return connection is { IsAlive: true } ? ValueTask.FromResult(connection) : new ValueTask<MemcachedConnection>(ReconnectAsync(slot, cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        for (var i = 0; i < _connections.Length; i++)
        {
            if (Interlocked.Exchange(ref _connections[i], null) is { } connection)
            {
                await connection.DisposeAsync();
            }

            _connectGates[i].Dispose();
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
            timeout.CancelAfter(_connectTimeout);
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
            Volatile.Write(ref _connections[slot], fresh);
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
}
