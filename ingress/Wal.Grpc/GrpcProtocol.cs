namespace Wal.Grpc;

/// <summary>Header names and values of the gRPC-over-HTTP/2 protocol.</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusTrailer = "grpc-status";
    public const string MessageTrailer = "grpc-message";
    public const string StatusDetailsTrailer = "grpc-status-details-bin";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";

    /// <summary>One byte compressed flag plus a four-byte big-endian length.</summary>
    public const int FrameHeaderSize = 5;

    /// <summary>
    /// True for <c>application/grpc</c> and <c>application/grpc+proto</c>, with or without
    /// parameters. Other subtypes (<c>+json</c>) would need another codec, so they are refused.
    /// </summary>
    public static bool IsSupportedContentType(string? contentType)
    {
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
        return media.Equals(ContentType, StringComparison.OrdinalIgnoreCase)
            || media.Equals("application/grpc+proto", StringComparison.OrdinalIgnoreCase);
    }
}
