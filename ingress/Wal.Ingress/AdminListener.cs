using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Wal.Ingress;

/// <summary>
/// Marks the connections of the admin port, where <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> answer. The app's
/// endpoints are mapped once for every listener: without the mark the gRPC port served them too, over HTTP/2, to any
/// caller that reaches it, and went on serving them with the admin port turned off (-1).
/// </summary>
internal sealed class AdminListener
{
    private static readonly AdminListener Mark = new();

    /// <summary>Connection middleware for the admin listener: its requests see the mark among their features.</summary>
    public static ConnectionDelegate MarkConnections(ConnectionDelegate next) => connection =>
    {
        connection.Features.Set(Mark);
        return next(connection);
    };

    /// <summary>Whether <paramref name="http"/> came in on the admin port.</summary>
    public static bool Serves(HttpContext http) => http.Features.Get<AdminListener>() is not null;
}
