using Google.Protobuf;

namespace Wal.Grpc;

/// <summary>
/// Thrown by a handler to end its call with a non-OK status. <see cref="Details"/>, when present,
/// travel packed in a <c>google.rpc.Status</c> in the <c>grpc-status-details-bin</c> trailer, so a
/// client gets a typed answer (for example a response message) alongside the status.
/// </summary>
public sealed class RpcException : Exception
{
    public RpcException(StatusCode statusCode, string detail, params IMessage[] details)
        : base(detail)
    {
        if (statusCode == StatusCode.OK)
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), "An RpcException cannot carry OK.");
        }

        StatusCode = statusCode;
        Detail = detail;
        Details = details;
    }

    public RpcException()
        : this(StatusCode.Unknown, string.Empty)
    {
    }

    public RpcException(string message)
        : this(StatusCode.Unknown, message)
    {
    }

    public RpcException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = StatusCode.Unknown;
        Detail = message;
        Details = [];
    }

    public StatusCode StatusCode { get; }

    /// <summary>The text sent in <c>grpc-message</c>: for the caller, so never internal details.</summary>
    public string Detail { get; }

    /// <summary>Messages packed into the rich error details; may be empty.</summary>
    public IReadOnlyList<IMessage> Details { get; }

    /// <summary>
    /// Sent as <c>grpc-retry-pushback-ms</c>: how long a client that retries this status should wait before it does,
    /// or, when negative, that it should not retry the call at all (gRPC's retry design). Null sends none, leaving the
    /// client's own backoff.
    /// </summary>
    public TimeSpan? RetryPushback { get; init; }

    /// <summary>
    /// A pushback as <c>grpc-retry-pushback-ms</c> carries it: whole milliseconds, rounded up so a client never comes
    /// back early; -1 for any negative pushback, "do not retry".
    /// </summary>
    public static long PushbackMilliseconds(TimeSpan pushback) =>
        pushback < TimeSpan.Zero ? -1 : (long)Math.Ceiling(pushback.TotalMilliseconds);
}
