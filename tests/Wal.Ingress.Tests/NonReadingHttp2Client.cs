using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Wal.Ingress.Tests;

/// <summary>
/// An HTTP/2 client that stops reading its responses: it gives the server a tiny stream window and
/// never sends WINDOW_UPDATE, so every response stalls on flow control. It stays alive otherwise
/// (answers PING and SETTINGS), as a client whose application stopped reading would, so keep-alive
/// has no reason to close it. It can also read slowly, a few bytes at a time (<see cref="GrantAsync"/>).
/// No client library can be made to stop reading on cue; this one speaks the few frames it needs by hand.
/// </summary>
public sealed class NonReadingHttp2Client : IAsyncDisposable
{
    private const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8;
    private const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;
    private const uint Cancel = 0x8;

    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly ConcurrentDictionary<int, TaskCompletionSource<StreamEnd>> _ends = new();
    private readonly ConcurrentDictionary<int, int> _dataBytes = new();
    private readonly Task _reading;
    private int _nextStreamId = 1;

    private NonReadingHttp2Client(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
        _reading = Task.Run(ReadLoopAsync);
    }

    /// <summary>How a stream ended: the server's RST_STREAM (with its code), or its trailers (with the raw header block).</summary>
    public sealed record StreamEnd(uint? ResetCode, string TrailerText);

    /// <summary>Set once the server sent GOAWAY or closed the connection.</summary>
    public bool ConnectionClosed { get; private set; }

    /// <param name="address">The ingress; https means TLS with ALPN h2.</param>
    /// <param name="initialWindow">SETTINGS_INITIAL_WINDOW_SIZE for the server's responses; never raised.</param>
    /// <param name="tls">For https: how to authenticate (server validation, client certificate).</param>
    public static async Task<NonReadingHttp2Client> ConnectAsync(Uri address, int initialWindow, SslClientAuthenticationOptions? tls = null)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        Stream stream = tcp.GetStream();
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            var ssl = new SslStream(stream);
            tls ??= new SslClientAuthenticationOptions();
            tls.ApplicationProtocols = [SslApplicationProtocol.Http2];
            tls.TargetHost ??= address.Host;
            await ssl.AuthenticateAsClientAsync(tls);
            stream = ssl;
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        var settings = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(settings, 0x4); // SETTINGS_INITIAL_WINDOW_SIZE
        BinaryPrimitives.WriteUInt32BigEndian(settings.AsSpan(2), (uint)initialWindow);
        await stream.WriteAsync(FrameBytes(Settings, 0, 0, settings));
        return new NonReadingHttp2Client(tcp, stream);
    }

    /// <summary>Opens a gRPC call on a new stream; returns its id.</summary>
    public async Task<int> OpenAsync(Uri address, string path)
    {
        var id = Interlocked.Add(ref _nextStreamId, 2) - 2;
        _ends[id] = new TaskCompletionSource<StreamEnd>(TaskCreationOptions.RunContinuationsAsynchronously);
        var block = new MemoryStream();
        foreach (var (name, value) in new[]
        {
            (":method", "POST"), (":scheme", address.Scheme), (":authority", address.Authority), (":path", path),
            ("content-type", "application/grpc"), ("te", "trailers"),
        })
        {
            // Literal header field without indexing, new name, no Huffman: the simplest HPACK there is.
            block.WriteByte(0);
            WriteString(block, name);
            WriteString(block, value);
        }

        await SendAsync(FrameBytes(Headers, EndHeaders, id, block.ToArray()));
        return id;
    }

    /// <summary>Sends request bytes (gRPC frames) on a stream.</summary>
    public Task SendAsync(int streamId, byte[] data, bool endStream = false) =>
        SendAsync(FrameBytes(Data, endStream ? EndStream : (byte)0, streamId, data));

    /// <summary>Resets a stream from the caller's side, as a client does when its call is cancelled.</summary>
    public Task ResetAsync(int streamId, uint errorCode = Cancel)
    {
        var code = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(code, errorCode);
        return SendAsync(FrameBytes(RstStream, 0, streamId, code));
    }

    /// <summary>Lets the server send <paramref name="bytes"/> more on the stream (and on the connection): a reader that takes acks in slowly.</summary>
    public async Task GrantAsync(int streamId, int bytes)
    {
        var increment = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(increment, (uint)bytes);
        await SendAsync(FrameBytes(WindowUpdate, 0, 0, increment));
        await SendAsync(FrameBytes(WindowUpdate, 0, streamId, increment));
    }

    /// <summary>Completes when the server ends the stream; never, if it does not.</summary>
    public Task<StreamEnd> EndOf(int streamId) => _ends[streamId].Task;

    /// <summary>DATA bytes the server managed to send on the stream (at most the window given).</summary>
    public int DataBytes(int streamId) => _dataBytes.GetValueOrDefault(streamId);

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _writing.Dispose();
    }

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(header);
                var length = (int)(BinaryPrimitives.ReadUInt32BigEndian(header) >> 8);
                var (type, flags) = (header[3], header[4]);
                var id = (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFFFFFF);
                var payload = new byte[length];
                await _stream.ReadExactlyAsync(payload);
                await OnFrameAsync(type, flags, id, payload);
                if (type == GoAway)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException)
        {
        }

        ConnectionClosed = true;
    }

    private async Task OnFrameAsync(byte type, byte flags, int id, byte[] payload)
    {
        switch (type)
        {
            case Settings when (flags & Ack) == 0:
                await SendAsync(FrameBytes(Settings, Ack, 0, []));
                break;
            case Ping when (flags & Ack) == 0:
                await SendAsync(FrameBytes(Ping, Ack, 0, payload));
                break;
            case Data:
                _dataBytes.AddOrUpdate(id, payload.Length, (_, n) => n + payload.Length);
                if ((flags & EndStream) != 0)
                {
                    End(id, new StreamEnd(null, string.Empty));
                }

                break;
            case Headers when (flags & EndStream) != 0:
                // Kestrel writes header values as plain literals (no Huffman), so the status reads as text.
                End(id, new StreamEnd(null, Encoding.Latin1.GetString(payload)));
                break;
            case RstStream:
                End(id, new StreamEnd(BinaryPrimitives.ReadUInt32BigEndian(payload), string.Empty));
                break;
        }
    }

    private void End(int id, StreamEnd end)
    {
        if (_ends.TryGetValue(id, out var ended))
        {
            ended.TrySetResult(end);
        }
    }

    private async Task SendAsync(byte[] frame)
    {
        await _writing.WaitAsync();
        try
        {
            await _stream.WriteAsync(frame);
            await _stream.FlushAsync();
        }
        finally
        {
            _writing.Release();
        }
    }

    private static byte[] FrameBytes(byte type, byte flags, int streamId, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length << 8);
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)streamId);
        payload.CopyTo(frame, 9);
        return frame;
    }

    private static void WriteString(MemoryStream block, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        if (bytes.Length > 126)
        {
            throw new ArgumentException("Only short header strings are supported.", nameof(text));
        }

        block.WriteByte((byte)bytes.Length);
        block.Write(bytes);
    }
}
