using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Wal.Sinks.Memcached.Protocol;

/// <summary>
/// One TCP connection to one memcached server, shared by many callers. A writer loop drains the
/// request queue into one buffer per socket write (pipelining); a reader loop hands responses to
/// requests in write order. Any I/O error, end of stream or unparseable response tears the
/// connection down and fails every request on it; the pool then opens a new one.
/// </summary>
internal sealed class MemcachedConnection : IAsyncDisposable
{
    // Flush once this much is buffered (checked after every command, inside a request too), so one large
    // pipeline neither holds back the rest nor grows the buffer to its own size.
    private const int FlushThreshold = 256 * 1024;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly EndPoint _endPoint;
    private readonly Channel<PendingRequest> _queue = Channel.CreateUnbounded<PendingRequest>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });

    private readonly Lock _inFlightGate = new();
    private readonly Queue<PendingRequest> _inFlight = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _writerLoop;
    private readonly Task _readerLoop;
    private Exception? _failure;
    // When the server last showed progress: its last response, or the last socket write it took in
    // (a quiet batch is answered only at its end). Then whether this side is still framing
    // requests (its own work, not the server's silence; every request is framed, then written,
    // so its silence is counted from the write on) and since when a socket write has been under
    // way. Guarded by _inFlightGate.
    private long _quietSince;
    private bool _framing;
    private long _writingSince;

    private MemcachedConnection(Socket socket, NetworkStream stream, EndPoint endPoint, int? itemSizeMax)
    {
        _socket = socket;
        _endPoint = endPoint;
        _stream = stream;
        ItemSizeMax = itemSizeMax;
        _writerLoop = Task.Run(WriteLoopAsync);
        _readerLoop = Task.Run(ReadLoopAsync);
    }

    public EndPoint EndPoint => _endPoint;

    /// <summary>The client's connection generation when this connection was opened (see <c>MemcachedClient.ConnectionGeneration</c>).</summary>
    public long Generation { get; set; }

    /// <summary>The server's item size limit in bytes, read when the connection opened; null when it did not say.</summary>
    public int? ItemSizeMax { get; }

    /// <summary>False once the connection has failed or been disposed; such a connection is replaced.</summary>
    public bool IsAlive => Volatile.Read(ref _failure) is null;

    public static async Task<MemcachedConnection> ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        // A host name (DnsEndPoint) has no address family until resolved: such a socket is dual-mode, and connecting
        // tries each address the name resolves to. Created inside the try, so a refusal is a connection failure too.
        Socket? socket = null;
        try
        {
            socket = endPoint.AddressFamily == AddressFamily.Unspecified
                ? new Socket(SocketType.Stream, ProtocolType.Tcp)
                : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.NoDelay = true;
            await socket.ConnectAsync(endPoint, cancellationToken);
            var stream = new NetworkStream(socket, ownsSocket: true);
            var itemSizeMax = await ServerItemSizeLimit.ReadAsync(stream, cancellationToken);
            return new MemcachedConnection(socket, stream, endPoint, itemSizeMax);
        }
        catch (SocketException error)
        {
            socket?.Dispose();
            throw new MemcachedConnectionException($"Could not connect to memcached at {endPoint}: {error.SocketErrorCode}.", error);
        }
        catch (InvalidDataException error)
        {
            socket?.Dispose();
            throw new MemcachedConnectionException($"memcached at {endPoint} broke the protocol: {error.Message}", error);
        }
        catch (IOException error)
        {
            socket?.Dispose();
            throw new MemcachedConnectionException($"The connection to memcached at {endPoint} failed while opening: {error.Message}", error);
        }
        catch
        {
            socket?.Dispose();
            throw;
        }
    }

    /// <summary>Whether a command's item fits the server's item size limit; true when the limit is unknown.</summary>
    public bool Fits(in MetaCommand command) => ItemSizeMax is not { } limit || ItemSize.Fits(command.Key.Length, command.Value.Length, limit);

    /// <summary>Queues a request; its completion reports the outcome.</summary>
    public void Send(PendingRequest request)
    {
        if (!_queue.Writer.TryWrite(request))
        {
            request.Fail(Failure());
        }
    }

    public async ValueTask DisposeAsync()
    {
        TearDown(new MemcachedConnectionException($"The connection to memcached at {_endPoint} was closed."));
        await Task.WhenAll(_writerLoop, _readerLoop);
        _shutdown.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var writer = new CommandWriter();
        var opaque = 1u;
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_shutdown.Token))
            {
                while (_queue.Reader.TryRead(out var request))
                {
                    lock (_inFlightGate)
                    {
                        if (_failure is not null)
                        {
                            request.Fail(Failure());
                            continue;
                        }

                        // Registered before its bytes leave, so the reader always finds it.
                        _inFlight.Enqueue(request);
                        _framing = true;
                    }

                    // Flushed between commands too, not only between requests: framed whole, one large request (a
                    // mutation of many big values) grew the buffer to its size, and the connection kept that for good.
                    while (!request.WriteNext(writer, ref opaque))
                    {
                        if (writer.Length >= FlushThreshold)
                        {
                            await FlushAsync(writer);
                            lock (_inFlightGate)
                            {
                                // Framing again: the rest of the request.
                                _framing = true;
                            }
                        }
                    }

                    if (writer.Length >= FlushThreshold)
                    {
                        await FlushAsync(writer);
                    }
                }

                if (writer.Length > 0)
                {
                    await FlushAsync(writer);
                }
            }
        }
        catch (Exception error)
        {
            TearDown(Wrap(error));
        }
    }

    private async Task ReadLoopAsync()
    {
        var reader = new ResponseReader(_stream);
        try
        {
            while (true)
            {
                var response = await reader.ReadAsync(_shutdown.Token);
                Dispatch(response);
            }
        }
        catch (Exception error)
        {
            TearDown(Wrap(error));
        }
    }

    /// <summary>
    /// Called by a caller that gave up waiting: when requests are outstanding and the server has
    /// neither answered nor taken in a write for <paramref name="limit"/> (nor is this side still
    /// framing what it will write), it is taken for hung and the connection
    /// closed, failing what it held (each caller sees a connection failure, which is retriable).
    /// </summary>
    public void CloseIfUnresponsive(TimeSpan limit)
    {
        lock (_inFlightGate)
        {
            var since = _writingSince != 0 ? _writingSince : _quietSince;
            if (_failure is not null || _inFlight.Count == 0 || _framing || Stopwatch.GetElapsedTime(since) < limit)
            {
                return;
            }
        }

        TearDown(new MemcachedConnectionException($"memcached at {_endPoint} answered nothing for {limit.TotalSeconds:0.###} s with requests outstanding; the connection was closed."));
    }

    private async Task FlushAsync(CommandWriter writer)
    {
        await WriteAsync(writer.Written);
        writer.Reset();
    }

    // In slices, each one progress: a server taking in a large batch (one request, answered only
    // at its end when quiet) is busy, not hung.
    private async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        for (var offset = 0; offset < bytes.Length; offset += FlushThreshold)
        {
            lock (_inFlightGate)
            {
                _framing = false;
                _writingSince = Stopwatch.GetTimestamp();
            }

            await _stream.WriteAsync(bytes.Slice(offset, Math.Min(FlushThreshold, bytes.Length - offset)), _shutdown.Token);
            lock (_inFlightGate)
            {
                _writingSince = 0;
                _quietSince = Stopwatch.GetTimestamp();
            }
        }
    }

    private void Dispatch(MetaResponse response)
    {
        PendingRequest? request;
        lock (_inFlightGate)
        {
            _inFlight.TryPeek(out request);
            _quietSince = Stopwatch.GetTimestamp();
        }

        if (request is null)
        {
            throw new InvalidDataException($"memcached sent a {response.Status} response nobody asked for.");
        }

        if (response.Status is MetaStatus.ClientError or MetaStatus.Error)
        {
            // After a malformed command the server may parse its data block as more commands, so
            // nothing later on this connection can be trusted: fail the culprit, then the rest.
            Dequeue();
            request.Fail(new MemcachedClientErrorException(response.ErrorMessage ?? "unknown"));
            throw new MemcachedConnectionException($"The connection to memcached at {_endPoint} was closed after a CLIENT_ERROR.");
        }

        if (request.OnResponse(response))
        {
            Dequeue();
        }
    }

    private void Dequeue()
    {
        lock (_inFlightGate)
        {
            _inFlight.Dequeue();
        }
    }

    private void TearDown(Exception error)
    {
        PendingRequest[] orphans;
        lock (_inFlightGate)
        {
            if (_failure is not null)
            {
                return;
            }

            _failure = error;
            orphans = [.. _inFlight];
            _inFlight.Clear();
        }

        _queue.Writer.TryComplete();
        _shutdown.Cancel();
        _stream.Dispose();
        foreach (var request in orphans)
        {
            request.Fail(error);
        }

        while (_queue.Reader.TryRead(out var queued))
        {
            queued.Fail(error);
        }
    }

    private Exception Failure() =>
        Volatile.Read(ref _failure) ?? new MemcachedConnectionException($"The connection to memcached at {_endPoint} is closed.");

    private MemcachedConnectionException Wrap(Exception error) => error switch
    {
        MemcachedConnectionException connection => connection,
        OperationCanceledException => new MemcachedConnectionException($"The connection to memcached at {_endPoint} was closed."),
        InvalidDataException => new MemcachedConnectionException($"memcached at {_endPoint} broke the protocol: {error.Message}", error),
        _ => new MemcachedConnectionException($"The connection to memcached at {_endPoint} failed: {error.Message}", error),
    };
}
