namespace Wal.Client;

/// <summary>The ingress answered with a gRPC status other than OK.</summary>
public sealed class WalCallException : Exception
{
    public WalCallException(int statusCode, string statusMessage, byte[]? details = null)
        : base($"gRPC status {StatusName(statusCode)} ({statusCode}): {statusMessage}")
    {
        StatusCode = statusCode;
        StatusMessage = statusMessage;
        Details = details;
    }

    public WalCallException()
    {
        StatusMessage = string.Empty;
    }

    public WalCallException(string message)
        : base(message)
    {
        StatusMessage = message;
    }

    public WalCallException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusMessage = message;
    }

    /// <summary>The numeric gRPC status code (e.g. 5 = NOT_FOUND).</summary>
    public int StatusCode { get; }

    public string StatusMessage { get; }

    /// <summary>The raw <c>grpc-status-details-bin</c> trailer (a google.rpc.Status), if any.</summary>
    public byte[]? Details { get; }

    public static string StatusName(int code) => code switch
    {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN_CODE",
    };
}
