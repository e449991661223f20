using System.Net;
using System.Net.Http.Headers;
using Wal.Grpc.Rpc;

namespace Wal.Grpc.Tests;

/// <summary>What a test client saw: HTTP status, headers, messages and the gRPC status wherever it was.</summary>
public sealed record GrpcResponse(
    HttpStatusCode HttpStatus,
    HttpResponseHeaders Headers,
    string? ContentType,
    IReadOnlyList<byte[]> Messages,
    StatusCode? Status,
    string? Message,
    Status? Details,
    bool TrailersOnly);
