using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Wal.Client;

/// <summary>
/// The ingress answered with a gRPC status other than OK, or the call failed before its request left
/// this client (<see cref="NothingSent"/>, with a status of the client's own naming why).
/// </summary>
public sealed class WalCallException : Exception
{
    public WalCallException(int statusCode, string statusMessage, byte[]? details = null)
        : base($"gRPC status {StatusName(statusCode)} ({statusCode}): {statusMessage}")
    {
        StatusCode = statusCode;
        StatusMessage = statusMessage;
        Details = details;
    }

    private WalCallException(int statusCode, string statusMessage, Exception innerException)
        : base($"{statusMessage}; nothing was sent", innerException)
    {
        StatusCode = statusCode;
        StatusMessage = statusMessage;
        NothingSent = true;
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

    /// <summary>
    /// True when the request never left this client, so the server has nothing and the call took no effect:
    /// calling again cannot apply it twice. The status is then the client's own, as gRPC's clients name these
    /// failures: UNAVAILABLE (14) when the connection or the TLS handshake failed (the
    /// <see cref="Exception.InnerException"/> is the <see cref="HttpRequestException"/>, with an
    /// <see cref="System.Security.Authentication.AuthenticationException"/> inside for TLS), DEADLINE_EXCEEDED (4) or
    /// CANCELLED (1) when the deadline or the caller's token ended the call while it was still connecting.
    /// </summary>
    public bool NothingSent { get; }

    /// <summary>
    /// The first message of type <typeparamref name="T"/> among the status's details, or null
    /// (also when the trailer is not a valid google.rpc.Status).
    /// </summary>
    public T? FindDetail<T>()
        where T : class, IMessage<T>, new()
    {
        if (Details is null)
        {
            return null;
        }

        try
        {
            // google.rpc.Status: code = 1, message = 2, details = 3 (repeated Any). Read by hand
            // so the client needs no server-side types.
            var input = new CodedInputStream(Details);
            for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag != WireFormat.MakeTag(3, WireFormat.WireType.LengthDelimited))
                {
                    input.SkipLastField();
                    continue;
                }

                var any = new Any();
                input.ReadMessage(any);
                if (any.TryUnpack<T>(out var detail))
                {
                    return detail;
                }
            }
        }
        catch (InvalidProtocolBufferException)
        {
        }

        return null;
    }

    /// <summary>A call whose request never left this client; see <see cref="NothingSent"/>.</summary>
    internal static WalCallException NotSent(int statusCode, string statusMessage, Exception innerException) =>
        new(statusCode, statusMessage, innerException);

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
