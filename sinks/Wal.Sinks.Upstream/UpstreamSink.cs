using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Wal.Schemas.V1;

namespace Wal.Sinks.Upstream;

/// <summary>
/// Delivers to <see cref="Target.Upstream"/> targets: POSTs the payload to the target's URL, or,
/// when <see cref="UpstreamSinkOptions.UseGrpcForServiceMethodPaths"/> is set and the path names a
/// method, calls it as a gRPC unary method with the payload as the serialized request message.
/// </summary>
/// <remarks>
/// Idempotence is shared with the upstream: every call carries <see cref="DeliveryIdHeader"/> and
/// <see cref="VersionHeader"/>, and the upstream must treat a repeated id as done and may refuse a
/// version older than one it has applied. The sink cannot guard versions itself, because it cannot
/// read the upstream's state. Each attempt has a deadline (the target's timeout, or
/// <see cref="UpstreamSinkOptions.DefaultTimeout"/>, at most <see cref="UpstreamSinkOptions.MaxTimeout"/>), sent to
/// gRPC upstreams as <c>grpc-timeout</c>. A target that breaks <see cref="UpstreamTargetRules"/> fails permanently.
/// </remarks>
public sealed class UpstreamSink : ISink
{
    public const string DeliveryIdHeader = UpstreamTargetRules.DeliveryIdHeader;
    public const string VersionHeader = UpstreamTargetRules.VersionHeader;

    private const string GrpcTimeoutHeader = "grpc-timeout";

    private readonly UpstreamSinkOptions _options;
    private readonly HttpMessageInvoker _http;

    /// <param name="options">Validated here.</param>
    /// <param name="handler">The HTTP handler to send through; by default the sink makes its own, which it disposes.</param>
    public UpstreamSink(UpstreamSinkOptions options, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _http = handler is null
            ? new HttpMessageInvoker(new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                EnableMultipleHttp2Connections = true,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            }, disposeHandler: true)
            : new HttpMessageInvoker(handler, disposeHandler: false);
    }

    public async ValueTask<DeliveryResult> DeliverAsync(Delivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.Target?.Upstream is not { } target)
        {
            return DeliveryResult.Permanent($"UpstreamSink got a {delivery.Target?.DestinationCase} target; it delivers only to upstream applications.");
        }

        if (UpstreamTargetRules.Problem(target) is { } problem)
        {
            return DeliveryResult.Permanent($"The upstream target cannot be called: {problem}.");
        }

        var url = new Uri(target.Url, UriKind.Absolute);
        var shown = Shown(url);
        var asked = target.Timeout is { } t && t.ToTimeSpan() > TimeSpan.Zero ? t.ToTimeSpan() : _options.DefaultTimeout;
        var timeout = asked < _options.MaxTimeout ? asked : _options.MaxTimeout;
        var grpc = _options.UseGrpcForServiceMethodPaths && GrpcFraming.IsServiceMethodPath(url.AbsolutePath);
        using var request = grpc ? GrpcRequest(url, delivery) : PostRequest(url, delivery);
        AddTargetHeaders(request, target);
        if (grpc)
        {
            // Added after the target's headers so the deadline the call really has wins over a target header of the same
            // name, which was sent as a second value ("2000m, 1H"): a gRPC server refuses that as malformed or reads a
            // deadline the call does not have. The target's timeout field is how a writer asks for another deadline.
            request.Headers.Remove(GrpcTimeoutHeader);
            request.Headers.TryAddWithoutValidation(GrpcTimeoutHeader, GrpcFraming.Timeout(timeout));
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await _http.SendAsync(request, deadline.Token);
            return grpc
                ? await GrpcFraming.ReadStatusAsync(response, shown, deadline.Token)
                : HttpStatusClassifier.Classify(response, shown);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return DeliveryResult.Retriable($"The upstream {shown} did not answer within {timeout.TotalMilliseconds} ms.");
        }
        catch (Exception error) when (error is HttpRequestException or IOException)
        {
            // IOException: a gRPC answer that broke off while its body was read (a reset stream, a closed connection).
            return DeliveryResult.Retriable($"Calling the upstream {shown} failed: {error.Message}");
        }
    }

    /// <summary>
    /// The URL as failures name it, in dead letters and logs: without user information and with the query elided, where
    /// a target's credentials or tokens would be.
    /// </summary>
    private static string Shown(Uri url) =>
        url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) + (url.Query.Length > 1 ? "?…" : string.Empty);

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private HttpRequestMessage PostRequest(Uri url, Delivery delivery)
    {
        var content = new ReadOnlyMemoryContent(delivery.Payload);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(_options.ContentType);
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        AddDeliveryHeaders(request, delivery);
        return request;
    }

    private static HttpRequestMessage GrpcRequest(Uri url, Delivery delivery)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Version = HttpVersion.Version20,
            // gRPC needs HTTP/2 end to end, also in clear text (h2c with prior knowledge).
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = GrpcFraming.Frame(delivery.Payload),
        };
        request.Headers.TE.ParseAdd("trailers");
        AddDeliveryHeaders(request, delivery);
        return request;
    }

    private static void AddDeliveryHeaders(HttpRequestMessage request, Delivery delivery)
    {
        request.Headers.TryAddWithoutValidation(DeliveryIdHeader, HeaderText(delivery.Id));
        request.Headers.TryAddWithoutValidation(VersionHeader, delivery.Version.ToString(CultureInfo.InvariantCulture));
    }

    // Checked by UpstreamTargetRules. A content header (Content-Type, say) replaces the sink's own rather than
    // adding a second value to it.
    private static void AddTargetHeaders(HttpRequestMessage request, UpstreamTarget target)
    {
        foreach (var (name, value) in target.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content!.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }
    }

    /// <summary>
    /// The write's id as a header value: as it is when it is visible ASCII without '%', else its UTF-8 bytes outside
    /// that range (and '%') percent-encoded. The id is the writer's choice, and a line break in it would add headers
    /// of the writer's choosing to the upstream's request; .NET refuses other non-ASCII text at send time.
    /// </summary>
    public static string HeaderText(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (id.All(c => c is > ' ' and <= '~' and not '%'))
        {
            return id;
        }

        var text = new System.Text.StringBuilder(id.Length * 3);
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(id))
        {
            if (b is > (byte)' ' and <= (byte)'~' and not (byte)'%')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
