using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;

namespace Wal.Sinks.Upstream;

/// <summary>The parts of gRPC over HTTP/2 a unary call needs: the message frame, the deadline, the status.</summary>
internal static partial class GrpcFraming
{
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

    /// <summary>Reads the call's status: from the headers of a trailers-only answer, else from the trailers after the body.</summary>
    public static async Task<DeliveryResult> ReadStatusAsync(HttpResponseMessage response, string url, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return HttpStatusClassifier.Classify(response, url) is { Succeeded: false } failure
                ? failure
                : DeliveryResult.Permanent($"The upstream {url} answered HTTP {(int)response.StatusCode} to a gRPC call.");
        }

        if (Status(response.Headers) is { } early)
        {
            return GrpcStatusClassifier.Classify(early.Code, early.Message, url, early.Pushback);
        }

        // The trailers come after the body; drain it (a unary answer is one small message).
        _ = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return Status(response.TrailingHeaders) is { } status
            ? GrpcStatusClassifier.Classify(status.Code, status.Message, url, status.Pushback)
            : DeliveryResult.Permanent($"The upstream {url} ended a gRPC call without grpc-status.");
    }

    private static (int Code, string? Message, TimeSpan? Pushback)? Status(HttpHeaders headers)
    {
        if (!headers.TryGetValues("grpc-status", out var values) || !int.TryParse(values.FirstOrDefault(), CultureInfo.InvariantCulture, out var code))
        {
            return null;
        }

        // gRPC's retry pushback (A6): a non-negative count of milliseconds is when the server wants
        // the next attempt. A negative one asks for none; the namespace's retry policy still decides.
        var pushback = headers.TryGetValues("grpc-retry-pushback-ms", out var pushbacks)
            && int.TryParse(pushbacks.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms >= 0
            ? TimeSpan.FromMilliseconds(ms)
            : (TimeSpan?)null;
        return (code, headers.TryGetValues("grpc-message", out var messages) ? messages.FirstOrDefault() : null, pushback);
    }

    [GeneratedRegex(@"^/[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+/[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex ServiceMethodPath();
}
