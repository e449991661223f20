using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Client;

/// <summary>
/// Writes to Wal's ingress. Every write returns a <see cref="WriteToLogResponse"/> whose
/// <c>Durable</c> is the honest answer: TRUE only when the server said so, FALSE when the call
/// definitely did not write (refused, or never reached the server), UNKNOWN when the call may have
/// written (deadline passed or connection lost after sending).
/// </summary>
public sealed class WalClient : IDisposable
{
    private const string WriteToLogPath = "/wal.v1.WriteAheadLog/WriteToLog";
    private const string WriteToLogStreamPath = "/wal.v1.WriteAheadLog/WriteToLogStream";
    private const string WriteMutationChunkPath = "/wal.v1.WriteAheadLog/WriteMutationChunk";
    private const string CompleteMutationPath = "/wal.v1.WriteAheadLog/CompleteMutation";
    private const string AdminPrefix = "/wal.v1.NamespaceAdmin/";
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    private readonly HttpClient _http;
    private readonly WalClientOptions _options;

    public WalClient(WalClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingDelay,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
        if (options.ClientCertificate is not null && options.ClientCertificateChain is { Count: > 0 } chain)
        {
            // Sent alone, a certificate an intermediate CA issued fails at every ingress that trusts only the root.
            handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(options.ClientCertificate, chain, offline: true);
        }
        else if (options.ClientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [options.ClientCertificate];
        }

        if (options.ServerCertificateAuthorities is { Count: > 0 } authorities)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, sent, errors) => ChainsTo(certificate, sent, errors, authorities);
        }

        _http = new HttpClient(handler) { BaseAddress = options.Address, Timeout = Timeout.InfiniteTimeSpan };
    }

    public Task<WriteToLogResponse> WriteToLogAsync(WriteToLogRequest request, CancellationToken cancellationToken = default) =>
        WriteAsync(WriteToLogPath, request, cancellationToken);

    public Task<WriteToLogResponse> WriteMutationChunkAsync(MutationChunk chunk, CancellationToken cancellationToken = default) =>
        WriteAsync(WriteMutationChunkPath, chunk, cancellationToken);

    public Task<WriteToLogResponse> CompleteMutationAsync(MutationCompletion completion, CancellationToken cancellationToken = default) =>
        WriteAsync(CompleteMutationPath, completion, cancellationToken);

    public async Task<IReadOnlyList<NamespaceConfig>> ListNamespacesAsync(CancellationToken cancellationToken = default) =>
        (await CallAsync(AdminPrefix + "ListNamespaces", new ListNamespacesRequest(), ListNamespacesResponse.Parser, cancellationToken)).Namespaces;

    public Task<NamespaceConfig> GetNamespaceAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(AdminPrefix + "GetNamespace", new GetNamespaceRequest { Name = name }, NamespaceConfig.Parser, cancellationToken);

    public Task<NamespaceConfig> CreateNamespaceAsync(NamespaceConfig config, CancellationToken cancellationToken = default) =>
        CallAsync(AdminPrefix + "CreateNamespace", new CreateNamespaceRequest { Namespace = config }, NamespaceConfig.Parser, cancellationToken);

    public Task<NamespaceConfig> UpdateNamespaceAsync(NamespaceConfig config, CancellationToken cancellationToken = default) =>
        CallAsync(AdminPrefix + "UpdateNamespace", new UpdateNamespaceRequest { Namespace = config }, NamespaceConfig.Parser, cancellationToken);

    public Task DeleteNamespaceAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(AdminPrefix + "DeleteNamespace", new DeleteNamespaceRequest { Name = name }, DeleteNamespaceResponse.Parser, cancellationToken);

    /// <summary>Opens a WriteToLogStream call; see <see cref="WalWriteStream"/>.</summary>
    public WalWriteStream OpenWriteStream() =>
        new(_http, WriteToLogStreamPath, _options.MaxStreamInFlight, WriteToLogAgainAsync, _options.ShedAttempts > 1 ? _options.Deadline : TimeSpan.Zero);

    // A stream write the ingress shed goes out again as a unary call, whose attempts count the stream's as the first of
    // ShedAttempts: a fresh budget let such a write be sent ShedAttempts + 1 times, and 1 (no retry) stayed at one.
    private Task<WriteToLogResponse> WriteToLogAgainAsync(WriteToLogRequest request, CancellationToken cancellationToken) =>
        WriteAsync(WriteToLogPath, request, cancellationToken, shedsBefore: 1);

    /// <summary>
    /// Calls a unary method. A non-OK status throws <see cref="WalCallException"/>, and so does a call whose request
    /// never left (connection refused, TLS handshake failed, the deadline passed while connecting), with
    /// <see cref="WalCallException.NothingSent"/> set. Once the request began to go out, a lost connection or the
    /// deadline throws <see cref="HttpRequestException"/>, <see cref="IOException"/> or
    /// <see cref="OperationCanceledException"/>: the call may have taken effect.
    /// </summary>
    public Task<TResponse> CallAsync<TResponse>(string path, IMessage request, MessageParser<TResponse> parser, CancellationToken cancellationToken = default)
        where TResponse : IMessage<TResponse> =>
        CallAsync(path, request, parser, shedsBefore: 0, cancellationToken);

    private async Task<TResponse> CallAsync<TResponse>(string path, IMessage request, MessageParser<TResponse> parser, int shedsBefore, CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>
    {
        var (status, message, details, body) = await SendAsync(path, request, shedsBefore, cancellationToken);
        if (status != 0)
        {
            throw new WalCallException(status, message, details);
        }

        try
        {
            return parser.ParseFrom(body ?? throw new WalCallException(13, "the server answered OK without a message"));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new WalCallException(13, $"the server's answer is not a valid {typeof(TResponse).Name}: {e.Message}");
        }
    }

    public void Dispose() => _http.Dispose();

    // Only the given CAs count as roots; a wrong host name or a missing certificate still fails. The intermediates the
    // server sent are in the handshake's chain's extra store: without them a certificate an intermediate CA issued fails.
    // And only a certificate meant for servers, as the machine's trust store path requires: one CA often issues clients'
    // certificates too, and a client's (clientAuth only) named for the host must not pass for the ingress. A certificate
    // without extended key usage is good for any purpose (RFC 5280), and the chain's application policy lets it through.
    private static bool ChainsTo(X509Certificate? certificate, X509Chain? sent, SslPolicyErrors errors, X509Certificate2Collection authorities)
    {
        if (certificate is not X509Certificate2 server || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        if (sent is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(sent.ChainPolicy.ExtraStore);
        }

        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthentication));
        return chain.Build(server);
    }

    private async Task<WriteToLogResponse> WriteAsync(string path, IMessage request, CancellationToken cancellationToken, int shedsBefore = 0)
    {
        try
        {
            return Checked(await CallAsync(path, request, WriteToLogResponse.Parser, shedsBefore, cancellationToken));
        }
        catch (WalCallException e) when (e.NothingSent)
        {
            // No request left, so nothing can have been written, whichever status names why.
            return new WriteToLogResponse { Durable = Trilean.False, Message = e.StatusMessage };
        }
        catch (WalCallException e)
        {
            return Answer(e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return new WriteToLogResponse { Durable = Trilean.Unknown, Message = $"the outcome is unknown: {e.Message}" };
        }
    }

    /// <summary>What a non-OK status means for the write: the server's own answer when it sent one in the details.</summary>
    private static WriteToLogResponse Answer(WalCallException e) =>
        Answer(e.StatusCode, e.FindDetail<WriteToLogResponse>() ?? new WriteToLogResponse(), e.Message);

    /// <summary>
    /// What a non-OK <paramref name="status"/> means for a write, given the server's answer (from
    /// the status details, or a stream's acknowledgement; empty when it sent none).
    /// </summary>
    internal static WriteToLogResponse Answer(int status, WriteToLogResponse answer, string message)
    {
        // The server's UNKNOWN stands; a detail saying TRUE under an error status contradicts
        // itself, so the record may or may not be there: UNKNOWN too. Otherwise the status decides.
        answer.Durable = answer.Durable is Trilean.Unknown or Trilean.True || !IsRefusal(status) ? Trilean.Unknown : Trilean.False;
        answer.Message = message;
        return answer;
    }

    /// <summary>An answer under status OK: its trilean, or UNKNOWN when it has none (an empty or foreign message).</summary>
    internal static WriteToLogResponse Checked(WriteToLogResponse answer)
    {
        if (answer.Durable is not (Trilean.True or Trilean.False or Trilean.Unknown))
        {
            answer.Durable = Trilean.Unknown;
            answer.Message = $"the server answered OK with no durability answer ({answer.Message}); the outcome is unknown";
        }

        return answer;
    }

    /// <summary>
    /// The statuses Wal answers before anything is produced: INVALID_ARGUMENT, NOT_FOUND,
    /// ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, OUT_OF_RANGE,
    /// UNIMPLEMENTED, UNAUTHENTICATED. Any other status (DEADLINE_EXCEEDED, UNAVAILABLE, DATA_LOSS,
    /// a code from a proxy, ...) came after the request was sent: the record may have been written.
    /// </summary>
    internal static bool IsRefusal(int status) => status is 3 or 5 or 6 or 7 or 8 or 9 or 11 or 12 or 16;

    // shedsBefore: the sheds of this request before this call (a stream write's), counted against ShedAttempts.
    private async Task<(int Status, string Message, byte[]? Details, byte[]? Body)> SendAsync(string path, IMessage request, int shedsBefore, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.Deadline);
        var started = Stopwatch.GetTimestamp();
        var payload = Frame(request);
        // Counted apart: a call shed once still has its connection attempts, and one that failed to connect its shed retries.
        var connectFailures = 0;
        var sheds = shedsBefore;
        while (true)
        {
            var content = new FramedRequest(payload);
            using var message = GrpcRequest(path, content);
            // The time left, so a retry does not give the server the whole deadline again.
            message.Headers.TryAddWithoutValidation("grpc-timeout", GrpcTimeoutHeader.Format(_options.Deadline - Stopwatch.GetElapsedTime(started)));
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            }
            catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
            {
                // The TLS handshake failed on this side (the server's certificate is not trusted,
                // or the server refused the handshake before it ended): no request left, and
                // another attempt would meet the same certificates.
                throw WalCallException.NotSent(14, $"TLS with {_options.Address} failed: {e.InnerException.Message}", e);
            }
            catch (HttpRequestException e) when (!content.Started)
            {
                // The request's message never began to go out: the connection was refused, reset
                // or closed before the server could take it, or the name did not resolve. The
                // server has no message, so nothing was written and another attempt cannot write twice.
                if (++connectFailures >= _options.ConnectAttempts)
                {
                    throw WalCallException.NotSent(14, $"cannot connect to {_options.Address}: {e.Message}", e);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * connectFailures), deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    // The deadline (or the caller) ended the wait between attempts: still nothing sent.
                    throw WalCallException.NotSent(Ended(cancellationToken), $"cannot connect to {_options.Address} before the call ended: {e.Message}", e);
                }

                continue;
            }
            catch (HttpRequestException e) when (RefusedUnprocessed(e))
            {
                // REFUSED_STREAM, after the attempts HTTP/2 makes again by itself: the server processed none of the
                // call, so nothing was written, however much of the message had gone out.
                throw WalCallException.NotSent(14, $"{_options.Address} refused the call before processing any of it: {e.Message}", e);
            }
            catch (OperationCanceledException e) when (!content.Started)
            {
                // The deadline (or the caller) ended the attempt while it was still connecting or
                // waiting for a stream: the server never had the message, so nothing was written.
                throw WalCallException.NotSent(Ended(cancellationToken), $"cannot reach {_options.Address} before the call ended: {e.Message}", e);
            }

            (int Status, string Message, byte[]? Details, byte[]? Body, TimeSpan? Pushback) answer;
            using (response)
            {
                answer = await ReadAsync(response, deadline.Token);
            }

            // Shed with word of when to come back: nothing was written, so sending again is safe. Only when the wait
            // ends inside the deadline; otherwise the refusal is the answer at once rather than a wait for nothing.
            // The deadline may still come first (a timer's slack), or the caller give up waiting: the refusal then
            // stands, and it says what is true of every attempt so far, that nothing was written. Let out, the
            // cancellation would read as a call cut short after its request left: UNKNOWN for a write never written.
            if (answer.Status == ResourceExhausted && answer.Pushback is { } pushback && ++sheds < _options.ShedAttempts
                && pushback < _options.Deadline - Stopwatch.GetElapsedTime(started)
                && await WaitOutPushbackAsync(pushback, deadline.Token))
            {
                continue;
            }

            return (answer.Status, answer.Message, answer.Details, answer.Body);
        }
    }

    internal const int ResourceExhausted = 8;

    /// <summary>
    /// Waits <paramref name="pushback"/> before a shed write goes out again; false if <paramref name="cancellationToken"/>
    /// ended the wait first.
    /// </summary>
    internal static async Task<bool> WaitOutPushbackAsync(TimeSpan pushback, CancellationToken cancellationToken)
    {
        try
        {
            // Not before the pushback by this machine's clock: a timer counts whole milliseconds and can end a wait
            // up to one early, and the server, counting on its own clock, refused such an early retry again.
            var waitStarted = Stopwatch.GetTimestamp();
            for (var left = pushback; left > TimeSpan.Zero; left = pushback - Stopwatch.GetElapsedTime(waitStarted))
            {
                await Task.Delay(left + TimeSpan.FromMilliseconds(1), cancellationToken);
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether HTTP/2 ended the call with REFUSED_STREAM, which a server may send only for a stream it processed none of.
    /// </summary>
    internal static bool RefusedUnprocessed(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is HttpProtocolException { ErrorCode: RefusedStream })
            {
                return true;
            }
        }

        return false;
    }

    // HTTP/2's REFUSED_STREAM error code.
    private const long RefusedStream = 0x7;

    // What ended a call before its request left: the caller's token (CANCELLED), else the deadline (DEADLINE_EXCEEDED).
    private static int Ended(CancellationToken caller) => caller.IsCancellationRequested ? 1 : 4;

    private static async Task<(int, string, byte[]?, byte[]?, TimeSpan?)> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            // The gRPC spec's mapping for an HTTP error without a gRPC status: 503 and the like are UNAVAILABLE.
            return (Header(response.Headers, "grpc-status") is { } s ? Status(s) : 14,
                $"HTTP {(int)response.StatusCode} {Header(response.Headers, "grpc-message") ?? response.ReasonPhrase}", null, null, null);
        }

        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var (headers, status, text) = StatusOf(response);
        var details = Header(headers, "grpc-status-details-bin") is { } d ? FromBase64(d) : null;
        return (status, text, details, body.Length >= 5 ? Unframe(body) : null, Pushback(headers));
    }

    /// <summary>
    /// The call's <c>grpc-retry-pushback-ms</c>, when it asks for a retry after so many milliseconds; null when it is
    /// absent, says not to retry (negative) or is not a number.
    /// </summary>
    internal static TimeSpan? Pushback(HttpHeaders headers) =>
        Header(headers, "grpc-retry-pushback-ms") is { } value
        && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
        && milliseconds <= (long)TimeSpan.MaxValue.TotalMilliseconds
            ? TimeSpan.FromMilliseconds(milliseconds)
            : null;

    /// <summary>A gRPC call's POST to <paramref name="path"/> over HTTP/2, carrying <paramref name="content"/>.</summary>
    internal static HttpRequestMessage GrpcRequest(string path, HttpContent content)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("te", "trailers");
        return message;
    }

    /// <summary>
    /// A finished call's status: the headers that carry it (the response's own in a trailers-only
    /// response, else its trailers), its code (UNKNOWN when missing or garbled) and its message.
    /// </summary>
    internal static (HttpHeaders Headers, int Status, string Message) StatusOf(HttpResponseMessage response)
    {
        var headers = Header(response.Headers, "grpc-status") is not null ? response.Headers : response.TrailingHeaders;
        var status = Header(headers, "grpc-status") is { } value ? Status(value) : 2;
        return (headers, status, Uri.UnescapeDataString(Header(headers, "grpc-message") ?? string.Empty));
    }

    // A status that is not a number is no answer at all: UNKNOWN, so the write is too.
    private static int Status(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 2;

    // grpc-*-bin values may be sent unpadded; a value that is not base64 is dropped.
    private static byte[]? FromBase64(string value)
    {
        var buffer = new byte[((value.Length + 3) / 4) * 3];
        return Convert.TryFromBase64String(value.PadRight(value.Length + ((4 - (value.Length % 4)) % 4), '='), buffer, out var written)
            ? buffer[..written]
            : null;
    }

    internal static byte[] Frame(IMessage message)
    {
        var size = message.CalculateSize();
        var buffer = new byte[5 + size];
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)size);
        message.WriteTo(buffer.AsSpan(5));
        return buffer;
    }

    private static byte[] Unframe(byte[] body)
    {
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        if (body[0] != 0 || length != body.Length - 5)
        {
            throw new WalCallException(13, "the server sent a compressed or malformed message");
        }

        return body[5..];
    }

    internal static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>
    /// The request's one framed message, noting whether sending it began. Until it has, the server
    /// holds no message and cannot have written the record; once it has, an attempt that fails may
    /// have written it.
    /// </summary>
    private sealed class FramedRequest(byte[] frame) : ByteArrayContent(frame)
    {
        private volatile bool _started;

        public bool Started => _started;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            _started = true;
            return base.SerializeToStreamAsync(stream, context, cancellationToken);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            _started = true;
            return base.SerializeToStreamAsync(stream, context);
        }

        protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            _started = true;
            base.SerializeToStream(stream, context, cancellationToken);
        }
    }
}
