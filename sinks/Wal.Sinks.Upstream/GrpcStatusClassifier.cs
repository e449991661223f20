namespace Wal.Sinks.Upstream;

/// <summary>What a gRPC status code means for a delivery.</summary>
internal static class GrpcStatusClassifier
{
    private const int Ok = 0;
    private const int DeadlineExceeded = 4;
    private const int ResourceExhausted = 8;
    private const int Aborted = 10;
    private const int Unavailable = 14;

    // pushback: the upstream's grpc-retry-pushback-ms, when it wants the next attempt.
    public static DeliveryResult Classify(int status, string? message, string url, TimeSpan? pushback = null)
    {
        if (status == Ok)
        {
            return DeliveryResult.Delivered;
        }

        var error = $"The upstream {url} answered grpc-status {status}{(string.IsNullOrEmpty(message) ? string.Empty : ": " + Uri.UnescapeDataString(message))}.";
        return status is Unavailable or DeadlineExceeded or ResourceExhausted or Aborted
            ? DeliveryResult.Retriable(error, pushback)
            : DeliveryResult.Permanent(error);
    }
}
