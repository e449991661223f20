namespace Wal.Sinks.Memcached;

/// <summary>
/// The server answered <c>SERVER_ERROR</c>: it understood the request but could not do it
/// (object too large, out of memory). The connection stays usable.
/// </summary>
public sealed class MemcachedServerErrorException : MemcachedException
{
    public MemcachedServerErrorException(string serverMessage)
        : base($"memcached could not do the request: SERVER_ERROR {serverMessage}") => ServerMessage = serverMessage;

    /// <summary>The text after <c>SERVER_ERROR</c>.</summary>
    public string ServerMessage { get; }

    /// <summary>
    /// True when the same request can never succeed on this server (the value exceeds its item
    /// size limit); false for conditions that may pass, such as running out of memory.
    /// </summary>
    public bool IsPermanent => ServerMessage.Contains("too large", StringComparison.OrdinalIgnoreCase);
}
