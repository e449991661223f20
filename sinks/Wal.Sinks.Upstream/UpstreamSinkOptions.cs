namespace Wal.Sinks.Upstream;

/// <summary>Settings of <see cref="UpstreamSink"/>, validated when the sink is built.</summary>
public sealed record UpstreamSinkOptions
{
    /// <summary>Per-attempt deadline when the target gives none.</summary>
    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest deadline of an attempt, whatever the target asks for. Set it to the topology's
    /// <c>DeliveryTimeout</c>, which ends every attempt anyway: a gRPC upstream is then told the deadline it really has.
    /// </summary>
    public TimeSpan MaxTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Content type of an HTTP POST's body (the payload as it is).</summary>
    public string ContentType { get; init; } = "application/octet-stream";

    /// <summary>
    /// Call targets whose URL path has the form <c>/package.Service/Method</c> as gRPC unary
    /// methods (HTTP/2, length-prefixed message, <c>grpc-status</c> trailer) instead of a POST.
    /// </summary>
    public bool UseGrpcForServiceMethodPaths { get; init; }

    /// <summary>Throws with a message naming the bad value.</summary>
    public void Validate()
    {
        if (DefaultTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"UpstreamSinkOptions.DefaultTimeout is {DefaultTimeout}; it must be positive.");
        }

        if (MaxTimeout <= TimeSpan.Zero || MaxTimeout > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"UpstreamSinkOptions.MaxTimeout is {MaxTimeout}; it must be positive and at most a day.");
        }

        if (string.IsNullOrWhiteSpace(ContentType) || !System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(ContentType, out _))
        {
            throw new ArgumentException($"UpstreamSinkOptions.ContentType '{ContentType}' is not a media type.");
        }
    }
}
