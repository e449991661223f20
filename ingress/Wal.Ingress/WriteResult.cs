using Wal.Grpc;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// A write's answer: the gRPC status a unary call ends with, and the response that goes in its
/// body (OK) or its rich error details (otherwise). A stream acknowledges with both, in one ack.
/// </summary>
public readonly record struct WriteResult(StatusCode Code, WriteToLogResponse Response)
{
    /// <summary>
    /// For a refusal: when trying again can help (negative: never); see <see cref="RpcException.RetryPushback"/>. A
    /// unary call sends it as a trailer, a stream in the write's ack.
    /// </summary>
    public TimeSpan? RetryPushback { get; init; }

    /// <summary>
    /// Refused before anything was produced: durable is FALSE. Message and id are bounded, since they quote the
    /// caller's input and travel in the status trailer (see <see cref="GrpcMessageText.MaxMessageBytes"/>).
    /// </summary>
    public static WriteResult Refused(StatusCode code, string id, string message, TimeSpan? retryPushback = null) =>
        new(code, new WriteToLogResponse { Durable = Trilean.False, Message = GrpcMessageText.Bound(message), Id = GrpcMessageText.Bound(id) })
        {
            RetryPushback = retryPushback,
        };

    public static WriteResult From(ProduceOutcome outcome, string id)
    {
        var response = new WriteToLogResponse { Durable = outcome.Durable, Message = outcome.Message, Id = id };
        if (outcome.Position is { } position)
        {
            response.Position = position;
        }

        // A shed record is refused like one over an in-flight bound: the status is what tells a caller to retry later.
        return new WriteResult(outcome.WasShed ? StatusCode.ResourceExhausted : StatusCode.OK, response);
    }

    /// <summary>The unary form: the response, or an exception carrying it as details.</summary>
    public WriteToLogResponse ToResponseOrThrow() =>
        Code == StatusCode.OK ? Response : throw new RpcException(Code, Response.Message, Response) { RetryPushback = RetryPushback };
}
