using System.Net;
using System.Net.Http.Headers;
using Wal.Grpc.Rpc;

namespace Wal.Grpc.Tests;

/// <summary>
/// What a test client saw: HTTP status, headers, messages and the gRPC status wherever it was;
/// <see cref="Trailers"/> are the trailers, or the headers of a trailers-only response.
/// </summary>
public sealed record GrpcResponse(
    HttpStatusCode HttpStatus,
    HttpResponseHeaders Headers,
    string? ContentType,
    IReadOnlyList<byte[]> Messages,
    StatusCode? Status,
    string? Message,
    Status? Details,
    bool TrailersOnly,
    HttpHeaders Trailers)
{
    /// <summary>A trailer's one value (a trailers-only response's are in its headers), or null without it.</summary>
    public string? Trailer(string name) => Trailers.TryGetValues(name, out var values) ? values.Single() : null;
}
