using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Wal.Grpc;

/// <summary>Runs one call: validate, invoke the handler, map its outcome to exactly one status.</summary>
internal sealed class GrpcCallRunner(GrpcServerOptions options, GrpcReceiveBudget budget, ILogger logger, TimeProvider time)
{
    private const string HandlerFailed = "Exception was thrown by handler.";

    // One for every call: the options do not change once the server runs.
    private readonly MessageArrival _arrival = new(options.MaxMessageArrivalTime, time);

    public async Task RunAsync(HttpContext http, string method, Func<GrpcCall, Task> body)
    {
        if (!GrpcRequestValidator.TryAccept(http, method, out var timeout))
        {
            GrpcLog.Refused(logger, method, http.Response.StatusCode);
            return;
        }

        using var call = new GrpcCall(http, method, timeout, options.MaxReceiveMessageSize, budget, _arrival, time);
        var (code, detail, details, pushback) = await InvokeAsync(call, method, body);
        await call.CompleteAsync(code, detail, details, pushback);
    }

    private async Task<(StatusCode Code, string Detail, IReadOnlyList<IMessage> Details, TimeSpan? RetryPushback)> InvokeAsync(
        GrpcCall call, string method, Func<GrpcCall, Task> body)
    {
        try
        {
            await body(call);
            // A handler that ignored its token and answered late still missed the deadline.
            return call.DeadlinePassed ? (StatusCode.DeadlineExceeded, "Deadline exceeded.", [], null) : (StatusCode.OK, string.Empty, [], null);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Detail, e.Details, e.RetryPushback);
        }
        catch (Exception) when (call.DeadlinePassed)
        {
            return (StatusCode.DeadlineExceeded, "Deadline exceeded.", [], null);
        }
        catch (Exception) when (call.ClientGone)
        {
            return (StatusCode.Cancelled, "The caller cancelled the call.", [], null);
        }
        catch (Exception e)
        {
            // The exception's text stays in the log: it may hold internals the caller must not see.
            GrpcLog.HandlerFailed(logger, e, method);
            return (StatusCode.Internal, HandlerFailed, [], null);
        }
    }
}
