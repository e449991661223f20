namespace Wal.Sinks.Memcached;

/// <summary>
/// The server answered <c>CLIENT_ERROR</c>: it rejected the request as malformed. Retrying the same
/// request cannot help. The connection it came on is closed, because after a malformed request the
/// server may read the rest of it as further commands.
/// </summary>
public sealed class MemcachedClientErrorException : MemcachedException
{
    public MemcachedClientErrorException(string serverMessage)
        : base($"memcached rejected the request: CLIENT_ERROR {serverMessage}") => ServerMessage = serverMessage;

    /// <summary>The text after <c>CLIENT_ERROR</c>.</summary>
    public string ServerMessage { get; }
}
