namespace Wal.Sinks.Upstream;

/// <summary>What a gRPC status code means for a delivery.</summary>
internal static class GrpcStatusClassifier
{
    private const int Ok = 0;
    private const int Unknown = 2;
    private const int DeadlineExceeded = 4;
    private const int PermissionDenied = 7;
    private const int ResourceExhausted = 8;
    private const int Aborted = 10;
    private const int Unimplemented = 12;
    private const int Internal = 13;
    private const int Unavailable = 14;
    private const int Unauthenticated = 16;

    // pushback: the upstream's grpc-retry-pushback-ms, when it wants the next attempt.
    public static DeliveryResult Classify(int status, string? message, string url, TimeSpan? pushback = null)
    {
        if (status == Ok)
        {
            return DeliveryResult.Delivered;
        }

        var error = $"The upstream {url} answered grpc-status {status}{(string.IsNullOrEmpty(message) ? string.Empty : ": " + Uri.UnescapeDataString(message))}.";
        return Outcome(status, error, pushback);
    }

    /// <summary>
    /// A gRPC call answered with an HTTP status other than 200 and no grpc-status (an intermediary's answer): read as
    /// the status gRPC's HTTP-to-gRPC mapping gives it, as every gRPC client does. A <c>Retry-After</c> counts as a
    /// pushback.
    /// </summary>
    public static DeliveryResult ClassifyHttp(HttpResponseMessage response, string url)
    {
        var code = (int)response.StatusCode;
        var status = FromHttpStatus(code);
        var error = $"The upstream {url} answered HTTP {code} {response.StatusCode} to a gRPC call, without grpc-status (read as grpc-status {status}).";
        return Outcome(status, error, HttpStatusClassifier.RetryAfter(response));
    }

    /// <summary>gRPC's mapping of an HTTP status to the call's status, for answers that carry no grpc-status.</summary>
    public static int FromHttpStatus(int code) => code switch
    {
        400 => Internal,
        401 => Unauthenticated,
        403 => PermissionDenied,
        404 => Unimplemented,
        429 or 502 or 503 or 504 => Unavailable,
        _ => Unknown,
    };

    private static DeliveryResult Outcome(int status, string error, TimeSpan? pushback) =>
        status is Unavailable or DeadlineExceeded or ResourceExhausted or Aborted
            ? DeliveryResult.Retriable(error, pushback)
            : DeliveryResult.Permanent(error);
}
