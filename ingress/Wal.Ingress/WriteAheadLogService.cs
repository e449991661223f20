using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Wal.Grpc;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>Maps the <c>wal.v1.WriteAheadLog</c> service's methods onto a <see cref="LogWriter"/>.</summary>
public static class WriteAheadLogService
{
    public const string WriteToLogPath = "/wal.v1.WriteAheadLog/WriteToLog";
    public const string WriteToLogStreamPath = "/wal.v1.WriteAheadLog/WriteToLogStream";
    public const string WriteMutationChunkPath = "/wal.v1.WriteAheadLog/WriteMutationChunk";
    public const string CompleteMutationPath = "/wal.v1.WriteAheadLog/CompleteMutation";

    public static IEndpointRouteBuilder MapWriteAheadLog(this IEndpointRouteBuilder endpoints)
    {
        var writer = endpoints.ServiceProvider.GetRequiredService<LogWriter>();
        var stream = endpoints.ServiceProvider.GetRequiredService<WriteStreamHandler>();
        endpoints.MapGrpcUnary(WriteToLogPath, WriteToLogRequest.Parser, async (request, context) =>
            (await writer.WriteAsync(request, CallerIdentity.From(context.HttpContext), context.CancellationToken)).ToResponseOrThrow());
        endpoints.MapGrpcUnary(WriteMutationChunkPath, MutationChunk.Parser, async (chunk, context) =>
            (await writer.WriteChunkAsync(chunk, CallerIdentity.From(context.HttpContext), context.CancellationToken)).ToResponseOrThrow());
        endpoints.MapGrpcUnary(CompleteMutationPath, MutationCompletion.Parser, async (completion, context) =>
            (await writer.CompleteMutationAsync(completion, CallerIdentity.From(context.HttpContext), context.CancellationToken)).ToResponseOrThrow());
        endpoints.MapGrpcDuplexStreaming<WriteToLogRequest, WriteToLogAck>(WriteToLogStreamPath, WriteToLogRequest.Parser, stream.HandleAsync);
        return endpoints;
    }
}
