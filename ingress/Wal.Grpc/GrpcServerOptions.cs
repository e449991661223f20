namespace Wal.Grpc;

/// <summary>Limits applied to every gRPC method mapped with <see cref="GrpcEndpointRouteBuilderExtensions"/>.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted, in bytes; larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    public void Validate()
    {
        if (MaxReceiveMessageSize < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxReceiveMessageSize), MaxReceiveMessageSize, "MaxReceiveMessageSize must be positive.");
        }
    }
}
