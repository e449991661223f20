namespace Wal.Grpc;

/// <summary>Header names and values of the gRPC-over-HTTP/2 protocol.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusTrailer = "grpc-status";
    public const string MessageTrailer = "grpc-message";
    public const string StatusDetailsTrailer = "grpc-status-details-bin";
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";

    /// <summary>One byte compressed flag plus a four-byte big-endian length.</summary>
    public const int FrameHeaderSize = 5;

    /// <summary>
    /// True for a gRPC Content-Type: <c>application/grpc</c>, alone or with a <c>+subtype</c> naming the message
    /// format, with or without parameters, in any case. <paramref name="subtype"/> is what follows the plus, or empty.
    /// </summary>
    public static bool IsGrpcContentType(string? contentType, out ReadOnlySpan<char> subtype)
    {
        subtype = default;
        if (contentType is null)
        {
            return false;
        }

        var media = contentType.AsSpan();
        var semicolon = media.IndexOf(';');
        if (semicolon >= 0)
        {
            media = media[..semicolon];
        }

        media = media.Trim();
        if (!media.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = media[ContentType.Length..];
        if (rest.IsEmpty)
        {
            return true;
        }

        // application/grpc-web and the like are other protocols, not formats of this one.
        if (rest[0] != '+')
        {
            return false;
        }

        subtype = rest[1..];
        return true;
    }

    /// <summary>Protobuf is the one message format served: <c>+proto</c>, or no subtype, which means it.</summary>
    public static bool IsProto(ReadOnlySpan<char> subtype) => subtype.IsEmpty || subtype.Equals("proto", StringComparison.OrdinalIgnoreCase);
}
