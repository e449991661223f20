using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Tests.Peer;

/// <summary>
/// A CQL v4 server on 127.0.0.1 that answers as a test scripts it. It speaks real framing over
/// real TCP, records every request frame, runs the script for each request concurrently (so a
/// script that waits answers out of order), and can drop connections.
/// </summary>
public sealed class ScriptedCqlPeer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<ReceivedFrame, Task<PeerAction>> _script;
    private readonly ConcurrentQueue<ReceivedFrame> _received = new();
    private readonly ConcurrentDictionary<int, TcpClient> _clients = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;

    public ScriptedCqlPeer(Func<ReceivedFrame, PeerAction> script)
        : this(frame => Task.FromResult(script(frame)))
    {
    }

    public ScriptedCqlPeer(Func<ReceivedFrame, Task<PeerAction>> script)
    {
        _script = script;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string ContactPoint => $"127.0.0.1:{Port}";

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public IReadOnlyList<ReceivedFrame> Received => [.. _received];

    /// <summary>STARTUP → READY, OPTIONS → SUPPORTED, QUERY/EXECUTE/BATCH → Void; anything else is not scripted.</summary>
    public static PeerAction Default(ReceivedFrame frame) => frame.Opcode switch
    {
        CqlOpcode.Startup => PeerReplies.Ready(),
        CqlOpcode.Options => PeerAction.Reply(CqlOpcode.Supported, [0x00, 0x01, 0x00, 0x0B, .. "CQL_VERSION"u8, 0x00, 0x01, 0x00, 0x05, .. "3.0.0"u8]),
        CqlOpcode.Query or CqlOpcode.Execute or CqlOpcode.Batch => PeerReplies.Void(),
        _ => throw new InvalidOperationException($"The script has no answer for {frame}."),
    };

    public IReadOnlyList<ReceivedFrame> ReceivedOf(CqlOpcode opcode) => [.. _received.Where(f => f.Opcode == opcode)];

    /// <summary>Waits, up to a deadline, until a recorded frame matches.</summary>
    public async Task<ReceivedFrame> WaitForAsync(Func<ReceivedFrame, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (_received.FirstOrDefault(match) is { } frame)
            {
                return frame;
            }

            await Task.Delay(5);
        }

        throw new TimeoutException($"No matching frame arrived; received: {string.Join(", ", _received)}.");
    }

    /// <summary>Closes every open connection, as a crashed node or a cut link would.</summary>
    public void DropAll()
    {
        foreach (var id in _clients.Keys)
        {
            if (_clients.TryRemove(id, out var client))
            {
                client.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropAll();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping the listener ends the accept loop this way.
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var id = Interlocked.Increment(ref _connections);
            _clients[id] = client;
            _ = ServeAsync(id, client);
        }
    }

    private async Task ServeAsync(int connection, TcpClient client)
    {
        var stream = client.GetStream();
        var writeLock = new SemaphoreSlim(1, 1);
        var header = new byte[CqlFrameHeader.Size];
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header, _stop.Token);
                var parsed = CqlFrameHeader.Read(header);
                var body = new byte[parsed.Length];
                await stream.ReadExactlyAsync(body, _stop.Token);
                var frame = new ReceivedFrame(connection, parsed, body);
                _received.Enqueue(frame);
                _ = AnswerAsync(connection, client, stream, writeLock, frame);
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away, the script dropped the connection, or the peer is stopping.
        }
    }

    private async Task AnswerAsync(int connection, TcpClient client, NetworkStream stream, SemaphoreSlim writeLock, ReceivedFrame frame)
    {
        switch (await _script(frame))
        {
            case PeerAction.ReplyAction reply:
                await WriteAsync(stream, writeLock, CqlFrameCodec.Encode(reply.Version, CqlFrameFlags.None, frame.Header.Stream, reply.Opcode, w => w.WriteRaw(reply.Body)));
                break;
            case PeerAction.RawAction raw:
                await WriteAsync(stream, writeLock, raw.Bytes);
                break;
            case PeerAction.DropAction:
                _clients.TryRemove(connection, out _);
                client.Dispose();
                break;
        }
    }

    private static async Task WriteAsync(NetworkStream stream, SemaphoreSlim writeLock, byte[] bytes)
    {
        await writeLock.WaitAsync();
        try
        {
            await stream.WriteAsync(bytes);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The connection is gone; the client sees that on its side.
        }
        finally
        {
            writeLock.Release();
        }
    }
}
