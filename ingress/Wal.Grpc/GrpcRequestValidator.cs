using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Wal.Grpc;

/// <summary>
/// Checks what must hold before a handler runs, answering a refused request itself: HTTP/2
/// only, a gRPC content type, identity encoding, a well-formed deadline, and exactly the
/// method's path.
/// </summary>
internal static class GrpcRequestValidator
{
    public static bool TryAccept(HttpContext http, string method, out TimeSpan? timeout)
    {
        timeout = null;
        var request = http.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            // 426 tells an HTTP/1.1 client what it did wrong; gRPC clients read the status.
            GrpcCall.WriteTrailersOnly(http, StatusCode.Internal, $"Request protocol '{request.Protocol}' is not supported; gRPC needs HTTP/2.", [], StatusCodes.Status426UpgradeRequired);
            http.Response.Headers.Upgrade = "h2c";
            return false;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType, out var subtype))
        {
            // Not gRPC at all: an HTTP error, so that a plain HTTP client cannot take the answer for a success.
            GrpcCall.WriteTrailersOnly(http, StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported; use application/grpc.", [], StatusCodes.Status415UnsupportedMediaType);
            return false;
        }

        if (!GrpcProtocol.IsProto(subtype))
        {
            // A gRPC call in a format there is no codec for: answered as gRPC, as an unsupported grpc-encoding is, so
            // the caller's library reports this reason rather than a bare HTTP error.
            GrpcCall.WriteTrailersOnly(
                http, StatusCode.Unimplemented, $"Message format '{subtype}' (Content-Type '{request.ContentType}') is not supported; only protobuf is served: use application/grpc or application/grpc+proto.", []);
            return false;
        }

        var encoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length > 0 && !string.Equals(encoding, GrpcProtocol.IdentityEncoding, StringComparison.Ordinal))
        {
            http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.IdentityEncoding;
            GrpcCall.WriteTrailersOnly(http, StatusCode.Unimplemented, $"Message encoding '{encoding}' is not supported; this server accepts identity only.", []);
            return false;
        }

        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader, out var parsed))
            {
                GrpcCall.WriteTrailersOnly(http, StatusCode.Internal, $"Malformed grpc-timeout '{timeoutHeader}'.", []);
                return false;
            }

            timeout = parsed;
        }

        // Routing matches paths ignoring case and a trailing slash, after decoding percent-escapes; gRPC's are
        // case-sensitive and sent as they are, so such a path names another method, one that does not exist, and must
        // not run this one. The path as sent, then, not as routing decoded it.
        var sent = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value;
        if (!string.Equals(sent, method, StringComparison.Ordinal))
        {
            GrpcCall.WriteTrailersOnly(http, StatusCode.Unimplemented, $"Method '{sent}' is not implemented.", []);
            return false;
        }

        return true;
    }
}
