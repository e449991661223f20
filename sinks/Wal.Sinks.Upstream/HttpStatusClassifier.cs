namespace Wal.Sinks.Upstream;

/// <summary>What an upstream's HTTP status means for a delivery.</summary>
internal static class HttpStatusClassifier
{
    public static DeliveryResult Classify(HttpResponseMessage response, string url)
    {
        var status = response.StatusCode;
        var code = (int)status;
        if (code is >= 200 and < 300)
        {
            return DeliveryResult.Delivered;
        }

        var error = $"The upstream {url} answered {code} {status}.";
        // 408 and 429 say "not now"; 5xx says the upstream, not the request, is at fault.
        return code is 408 or 429 or >= 500
            ? DeliveryResult.Retriable(error, RetryAfter(response))
            : DeliveryResult.Permanent(error);
    }

    // Retry-After, as seconds or as a date: the upstream says when it wants the next call (429, 503).
    public static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } when date > DateTimeOffset.UtcNow => date - DateTimeOffset.UtcNow,
        _ => null,
    };
}
