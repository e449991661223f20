using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace Wal.Sinks.Upstream;

/// <summary>The parts of gRPC over HTTP/2 a unary call needs: the message frame, the deadline, the status.</summary>
internal static partial class GrpcFraming
{
    /// <summary>
    /// The most of an answer's body the sink reads to reach the status trailers: gRPC's default receive limit, as the
    /// ingress has. The sink ignores the answer's message, so a bigger one is the upstream's mistake, repeated on
    /// every attempt; reading on without a limit let an upstream make the topology allocate without bound.
    /// </summary>
    public const int MaxAnswerBytes = 4 * 1024 * 1024;

    private static readonly MediaTypeHeaderValue GrpcContentType = new("application/grpc");

    /// <summary><c>/package.Service/Method</c>: a package-qualified service and a method name.</summary>
    public static bool IsServiceMethodPath(string path) => ServiceMethodPath().IsMatch(path);

    /// <summary>One uncompressed message: a zero flag byte, a big-endian length, the bytes.</summary>
    public static HttpContent Frame(ReadOnlyMemory<byte> message)
    {
        var framed = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.Span.CopyTo(framed.AsSpan(5));
        var content = new ByteArrayContent(framed);
        content.Headers.ContentType = GrpcContentType;
        return content;
    }

    /// <summary>The <c>grpc-timeout</c> value: at most eight digits and a unit.</summary>
    public static string Timeout(TimeSpan timeout)
    {
        var millis = (long)Math.Ceiling(timeout.TotalMilliseconds);
        return millis < 100_000_000
            ? millis.ToString(CultureInfo.InvariantCulture) + "m"
            : Math.Min((long)Math.Ceiling(timeout.TotalSeconds), 99_999_999).ToString(CultureInfo.InvariantCulture) + "S";
    }

    /// <summary>
    /// Reads the call's status: from the headers of a trailers-only answer, else, for an HTTP 200, from the trailers
    /// after the body. An answer without <c>grpc-status</c> is read as gRPC clients read it: a non-200 HTTP status by
    /// <see cref="GrpcStatusClassifier.FromHttpStatus"/>, a 200 as a failed call.
    /// </summary>
    /// <exception cref="IOException">The answer broke off while its body was read.</exception>
    public static async Task<DeliveryResult> ReadStatusAsync(HttpResponseMessage response, string url, CancellationToken cancellationToken)
    {
        // A grpc-status, when there is one, is the call's status whatever the HTTP status; the mapping from HTTP
        // statuses is only for answers without one (a proxy's error page, say).
        if (Status(response.Headers, url) is { } early)
        {
            return early;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            return GrpcStatusClassifier.ClassifyHttp(response, url);
        }

        if (!await DrainAsync(response.Content, cancellationToken))
        {
            return DeliveryResult.Permanent(
                $"The upstream {url} answered a gRPC call with more than {MaxAnswerBytes / (1024 * 1024)} MiB before its status; the sink reads at most that much of an answer.");
        }

        return Status(response.TrailingHeaders, url)
            ?? DeliveryResult.Permanent($"The upstream {url} ended a gRPC call without grpc-status.");
    }

    // The trailers come after the body. The sink has no use for the answer's message, so it is read through a small
    // buffer and dropped rather than held, and at most MaxAnswerBytes of it. False when the body is longer.
    private static async Task<bool> DrainAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var body = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
                if (total > MaxAnswerBytes)
                {
                    return false;
                }
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Null when the headers hold no grpc-status.
    private static DeliveryResult? Status(HttpHeaders headers, string url)
    {
        if (!headers.TryGetValues("grpc-status", out var values))
        {
            return null;
        }

        // The spec's grpc-status is one decimal number. Anything else (a sign, spaces, two values) is a broken answer,
        // which gRPC clients fail as INTERNAL: permanent, since the upstream answers the same way again.
        var text = string.Join(", ", values);
        if (text.Length is 0 or > 9 || !text.All(char.IsAsciiDigit))
        {
            var shown = text.Length > 32 ? text[..32] + "…" : text;
            return DeliveryResult.Permanent($"The upstream {url} answered a malformed grpc-status '{shown}'; it must be a decimal number.");
        }

        // gRPC's retry pushback (A6): a non-negative count of milliseconds is when the server wants
        // the next attempt. A negative one asks for none; the namespace's retry policy still decides.
        var pushback = headers.TryGetValues("grpc-retry-pushback-ms", out var pushbacks)
            && int.TryParse(pushbacks.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms >= 0
            ? TimeSpan.FromMilliseconds(ms)
            : (TimeSpan?)null;
        var message = headers.TryGetValues("grpc-message", out var messages) ? messages.FirstOrDefault() : null;
        return GrpcStatusClassifier.Classify(int.Parse(text, CultureInfo.InvariantCulture), message, url, pushback);
    }

    [GeneratedRegex(@"^/[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+/[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex ServiceMethodPath();
}
