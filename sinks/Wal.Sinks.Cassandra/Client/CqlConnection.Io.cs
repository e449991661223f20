using System.Buffers.Binary;
using Wal.Sinks.Cassandra.Messages;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Client;

public sealed partial class CqlConnection
{
    // A refusal is a code and a sentence; a longer body is not read for the message.
    private const int MaxRefusalLength = 64 * 1024;

    private enum WriteOutcome
    {
        Written,
        NotStarted,
        CutShort,
    }

    /// <summary>
    /// Writes one whole frame. <paramref name="cancellationToken"/> (the caller's, and the request
    /// timeout) bounds only the wait for the lock: a frame cut off half-way would desynchronise the
    /// stream for every other request, so once the write starts, only <paramref name="requestTimeout"/>
    /// ends it, by closing the connection (a node that stopped reading). A caller cancelling then
    /// waits for its write, as before; closing a healthy connection for it failed every other
    /// request on it.
    /// </summary>
    private async Task<WriteOutcome> TryWriteAsync(byte[] frame, CancellationToken cancellationToken, CancellationToken requestTimeout)
    {
        try
        {
            await _writeLock.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return WriteOutcome.NotStarted;
        }

        try
        {
            var write = _stream.WriteAsync(frame, _shutdown.Token).AsTask();
            try
            {
                await write.WaitAsync(requestTimeout);
            }
            catch (OperationCanceledException) when (requestTimeout.IsCancellationRequested)
            {
                if (!write.IsCompleted)
                {
                    Close("a request could not be written within its deadline (the node stopped reading)", null);
                    _ = write.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                    return WriteOutcome.CutShort;
                }

                // The write finished as the deadline fired: it went out whole.
            }

            await write;
            return WriteOutcome.Written;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            Close("writing to the socket failed", e);
            throw Lost();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        var headerBytes = new byte[CqlFrameHeader.Size];
        var answeredInV4 = false;
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(headerBytes, _shutdown.Token);
                if (headerBytes[0] != CqlFrameHeader.ResponseVersion)
                {
                    throw await OtherVersionAsync(headerBytes, answeredInV4);
                }

                var header = CqlFrameHeader.Read(headerBytes);

                answeredInV4 = true;
                var body = new byte[header.Length];
                await _stream.ReadExactlyAsync(body, _shutdown.Token);
                Dispatch(header, body);
            }
        }
        catch (EndOfStreamException e)
        {
            Close("the server closed the connection", e);
        }
        catch (Exception e)
        {
            Close($"reading from the socket failed: {e.Message}", e);
        }
    }

    /// <summary>
    /// A node that does not speak v4 answers STARTUP with a Protocol_error framed in its own version
    /// (0x83 from a v3-only node such as Cassandra 2.1, 0x82 from a v2-only one). Taken for a broken frame, that was a lost connection, retried for
    /// ever; as the first answer on the connection it is the node refusing the version. Once the
    /// node has answered in v4, a frame of another version is a corrupt stream instead, and a new
    /// connection may do better.
    /// </summary>
    private async Task<CqlException> OtherVersionAsync(byte[] headerBytes, bool answeredInV4)
    {
        var version = headerBytes[0];
        if (answeredInV4 || (version & 0x80) == 0)
        {
            return new CqlProtocolException($"Expected a v4 response frame, got version byte 0x{version:X2}.");
        }

        var said = await RefusalAsync(headerBytes);
        return new CqlProtocolVersionException($"{Endpoint} answered in protocol v{version & 0x7F}; this client speaks only v4 (Cassandra 2.2 or later): {said}");
    }

    // A v1 or v2 header is 8 bytes (a one-byte stream id), so the 9 read hold its body's first byte; read as v4's, its
    // opcode and length were off by one byte and the refusal waited for a body 256 times its size. v3's is v4's.
    private async Task<string> RefusalAsync(byte[] headerBytes)
    {
        var headerSize = (headerBytes[0] & 0x7F) < 3 ? CqlFrameHeader.Size - 1 : CqlFrameHeader.Size;
        var opcode = (CqlOpcode)headerBytes[headerSize - 5];
        var length = BinaryPrimitives.ReadInt32BigEndian(headerBytes.AsSpan(headerSize - 4));
        var alreadyRead = CqlFrameHeader.Size - headerSize;
        if (opcode != CqlOpcode.Error || length < alreadyRead || length > MaxRefusalLength)
        {
            return opcode.ToString();
        }

        var body = new byte[length];
        headerBytes.AsSpan(headerSize).CopyTo(body);
        await _stream.ReadExactlyAsync(body.AsMemory(alreadyRead), _shutdown.Token);
        return ErrorMessageOf(body);
    }

    // The ERROR layout ([int] code, [string] message) is the same in every protocol version.
    private static string ErrorMessageOf(byte[] body)
    {
        try
        {
            var reader = new CqlReader(body);
            var code = reader.ReadInt();
            return $"0x{code:X4} {reader.ReadString()}";
        }
        catch (CqlProtocolException)
        {
            return "an ERROR that could not be read";
        }
    }

    private void Dispatch(CqlFrameHeader header, byte[] body)
    {
        // Negative stream ids are server-initiated EVENTs; this client registers for none.
        if (header.Stream < 0 || !_pending.TryRemove(header.Stream, out var pending))
        {
            return;
        }

        if (pending.MarkAnswered())
        {
            Interlocked.Decrement(ref _orphaned);
        }

        // The id is free only now: until the answer arrived, a late response could have been taken
        // for that of a new request on the same id.
        _ids.Return(header.Stream);
        try
        {
            pending.Completion.TrySetResult(CqlResponseDecoder.Decode(header, body));
        }
        catch (CqlProtocolException e)
        {
            pending.Completion.TrySetException(e);
        }
    }

    private void Abandon(PendingRequest pending)
    {
        // The frame is on the wire, so its stream id stays taken until the server answers. If too
        // many answers never come, the node is stuck or the link is dead: close and let the
        // caller reconnect rather than run out of ids.
        if (pending.TryAbandon() && Interlocked.Increment(ref _orphaned) > _options.MaxConcurrentRequests / 2)
        {
            Close($"{_orphaned} requests went unanswered", null);
        }
    }

    private void Forget(short id, PendingRequest pending)
    {
        if (_pending.TryRemove(new KeyValuePair<short, PendingRequest>(id, pending)))
        {
            _ids.Return(id);
        }
    }

    private void Close(string reason, Exception? cause)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        _closeCause = cause;
        _closeReason = reason;

        // Pending requests fail before _shutdown fires, so a waiter woken by the cancellation
        // already finds its request failed as "connection lost", not as a bare cancellation.
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var pending))
            {
                pending.Completion.TrySetException(Lost());
            }
        }

        _shutdown.Cancel();
        _client.Dispose();
    }

    private void ThrowIfClosed()
    {
        if (IsClosed)
        {
            throw Lost();
        }
    }

    // A node's refusal of v4 is what its connection's requests failed of, not a lost connection.
    private CqlException Lost() => _closeCause is CqlProtocolVersionException refused
        ? refused
        : new CqlConnectionException($"Connection to {Endpoint} lost: {_closeReason}.", _closeCause);

    private Exception Interrupted(CqlRequest request, TimeSpan timeout, string stage, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested)
        {
            return new OperationCanceledException(callerToken);
        }

        return IsClosed ? Lost() : TimedOut(request, timeout, stage);
    }

    private CqlRequestTimeoutException TimedOut(CqlRequest request, TimeSpan timeout, string stage) =>
        new($"{request.Opcode} to {Endpoint} got no answer within {timeout.TotalMilliseconds:F0} ms ({stage}).");
}
