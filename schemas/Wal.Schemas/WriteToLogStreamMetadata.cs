namespace Wal.Schemas.V1;

/// <summary>WriteToLogStream's metadata beyond its messages: part of the contract, like write.proto.</summary>
public static class WriteToLogStreamMetadata
{
    /// <summary>
    /// Sent as "true" (a trailer, or a header when no acknowledgement was sent) when the ingress ends
    /// the call after acknowledging every request it started to write. A request without an
    /// acknowledgement was then never written: its caller may send it again, elsewhere. Without it
    /// (a connection lost, a proxy's status) such a request may or may not have been written.
    /// An ingress that stops says the same earlier, with an acknowledgement marked <c>ending</c>.
    /// </summary>
    public const string AllReadAcknowledged = "wal-all-read-acknowledged";
}
