using Microsoft.Extensions.Logging;

namespace Wal.Grpc;

internal static partial class GrpcLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "gRPC handler for {Method} failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string method);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "gRPC request for {Method} refused with HTTP {HttpStatus}")]
    public static partial void Refused(ILogger logger, string method, int httpStatus);
}
