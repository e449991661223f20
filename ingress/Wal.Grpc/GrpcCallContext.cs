using Microsoft.AspNetCore.Http;

namespace Wal.Grpc;

/// <summary>What a handler knows about its call besides the messages.</summary>
public sealed class GrpcCallContext
{
    internal GrpcCallContext(HttpContext httpContext, string method, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        HttpContext = httpContext;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method path, e.g. <c>/pkg.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>When the caller stops waiting (from <c>grpc-timeout</c>); null when it sent none.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>Cancelled when the deadline passes or the caller goes away.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The underlying request, for headers, the peer address and its certificate.</summary>
    public HttpContext HttpContext { get; }
}
