namespace Wal.Grpc;

/// <summary>Limits applied to every gRPC method mapped with <see cref="GrpcEndpointRouteBuilderExtensions"/>.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted, in bytes; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Bytes of request messages still arriving (begun, not whole) that the server holds at once,
    /// across all calls (see <see cref="GrpcReceiveBudget"/>); a message that does not fit ends its
    /// call with RESOURCE_EXHAUSTED. At least <see cref="MaxReceiveMessageSize"/>.
    /// </summary>
    public long MaxReceivingBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How long a request message that holds part of <see cref="MaxReceivingBytes"/> may take to arrive whole; one still
    /// incomplete then ends its call with RESOURCE_EXHAUSTED and gives its part back. Streams are exempt from
    /// Kestrel's minimum data rate (a stream may rightly be quiet between messages), so without this a caller that
    /// stopped in the middle of a message would hold its part for as long as its connection lived.
    /// </summary>
    public TimeSpan MaxMessageArrivalTime { get; set; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        if (MaxReceiveMessageSize < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxReceiveMessageSize), MaxReceiveMessageSize, "MaxReceiveMessageSize must be positive.");
        }

        if (MaxMessageArrivalTime <= TimeSpan.Zero || MaxMessageArrivalTime > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxMessageArrivalTime), MaxMessageArrivalTime, "MaxMessageArrivalTime must be positive and at most a day.");
        }

        if (MaxReceivingBytes < MaxReceiveMessageSize)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxReceivingBytes), MaxReceivingBytes, $"MaxReceivingBytes must be at least MaxReceiveMessageSize ({MaxReceiveMessageSize}), or no message of that size could ever be received.");
        }
    }
}
