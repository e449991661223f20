using System.Threading.Channels;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Wal.Grpc;

/// <summary>
/// One call's state on the wire: it owns the response, so every write and the final status go
/// through it under one gate. That keeps a late handler write from landing after the trailers.
/// </summary>
internal sealed class GrpcCall : IDisposable
{
    private readonly HttpContext _http;
    private readonly CancellationTokenSource? _deadline;
    private readonly CancellationTokenSource? _linked;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _completed;
    private bool _started;

    public GrpcCall(HttpContext http, string method, TimeSpan? timeout, int maxReceiveMessageSize, GrpcReceiveBudget budget, MessageArrival arrival, TimeProvider time)
    {
        _http = http;
        if (timeout is { } t)
        {
            _deadline = new CancellationTokenSource(t, time);
        }

        // Without a deadline the request's own token is enough; no linked source to allocate.
        _linked = _deadline is null ? null : CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, _deadline.Token);
        Context = new GrpcCallContext(http, method, timeout is { } d ? time.GetUtcNow() + d : null, _linked?.Token ?? http.RequestAborted);
        Reader = new GrpcFrameReader(http.Request.BodyReader, maxReceiveMessageSize, budget, arrival);
    }

    public GrpcCallContext Context { get; }

    public GrpcFrameReader Reader { get; }

    public bool DeadlinePassed => _deadline?.IsCancellationRequested == true;

    public bool ClientGone => _http.RequestAborted.IsCancellationRequested;

    /// <summary>Writes one response message; false when the call was already completed.</summary>
    public async ValueTask<bool> WriteAsync(IMessage message, bool flush, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_completed)
            {
                return false;
            }

            StartResponse();
            GrpcFrameWriter.Write(_http.Response.BodyWriter, message);
            if (flush)
            {
                await _http.Response.BodyWriter.FlushAsync(cancellationToken);
            }

            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Writes the messages <paramref name="source"/> has ready, in order, until it has none or at least
    /// <paramref name="maxBytes"/> are written, then flushes once; how many it wrote, or -1 (none taken) when the
    /// call was already completed. Each message is sized once, for its frame: a sender bounding its batch by size
    /// itself sized every message twice.
    /// </summary>
    public async ValueTask<int> WriteAvailableAsync<T>(ChannelReader<T> source, int maxBytes, CancellationToken cancellationToken)
        where T : IMessage
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_completed)
            {
                return -1;
            }

            StartResponse();
            var written = 0;
            for (var bytes = 0; bytes < maxBytes && source.TryRead(out var message); written++)
            {
                bytes += GrpcFrameWriter.Write(_http.Response.BodyWriter, message);
            }

            await _http.Response.BodyWriter.FlushAsync(cancellationToken);
            return written;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Ends the call with a status: in trailers after a response began, otherwise as a
    /// trailers-only response (status in the one HEADERS frame). Only the first completion counts.
    /// </summary>
    public async ValueTask CompleteAsync(StatusCode code, string detail, IReadOnlyList<IMessage> details, TimeSpan? retryPushback = null)
    {
        // No token: completing must not be cancelled by the deadline it may be reporting.
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (ClientGone)
            {
                return;
            }

            // Our own flag, not Response.HasStarted: a buffered message has not started the response
            // yet, and the status must still go in trailers after it.
            if (_started)
            {
                AppendStatus(code, detail, details, retryPushback, (name, value) => _http.Response.AppendTrailer(name, value));
            }
            else
            {
                WriteTrailersOnly(_http, code, detail, details, retryPushback: retryPushback);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Answers a request refused before any handler ran, as a trailers-only response.</summary>
    public static void WriteTrailersOnly(
        HttpContext http, StatusCode code, string detail, IReadOnlyList<IMessage> details, int httpStatus = StatusCodes.Status200OK, TimeSpan? retryPushback = null)
    {
        http.Response.StatusCode = httpStatus;
        http.Response.ContentType = GrpcProtocol.ContentType;
        AppendStatus(code, detail, details, retryPushback, (name, value) => http.Response.Headers.Append(name, value));
    }

    public void Dispose()
    {
        Reader.Dispose();
        _linked?.Dispose();
        _deadline?.Dispose();
        _gate.Dispose();
    }

    private void StartResponse()
    {
        if (!_started)
        {
            _started = true;
            _http.Response.StatusCode = StatusCodes.Status200OK;
            _http.Response.ContentType = GrpcProtocol.ContentType;
            _http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.IdentityEncoding;
            // Responses of a long stream must not sit in a buffer waiting for more.
            _http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        }
    }

    private static void AppendStatus(StatusCode code, string detail, IReadOnlyList<IMessage> details, TimeSpan? retryPushback, Action<string, string> append)
    {
        detail = GrpcMessageText.Bound(detail);
        append(GrpcProtocol.StatusTrailer, ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (detail.Length > 0)
        {
            append(GrpcProtocol.MessageTrailer, GrpcMessageText.Encode(detail));
        }

        if (details.Count > 0)
        {
            var status = new Rpc.Status { Code = (int)code, Message = detail };
            foreach (var message in details)
            {
                status.Details.Add(Any.Pack(message));
            }

            // Binary headers are base64; the spec asks senders to leave the padding out.
            append(GrpcProtocol.StatusDetailsTrailer, Convert.ToBase64String(status.ToByteArray()).TrimEnd('='));
        }

        if (retryPushback is { } pushback)
        {
            append(GrpcProtocol.RetryPushbackTrailer, RpcException.PushbackMilliseconds(pushback).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
