namespace Wal.Streams;

/// <summary>A <see cref="StreamsConfig"/> option has an invalid value; the message names the option.</summary>
public sealed class StreamsConfigException : StreamsException
{
    public StreamsConfigException()
    {
    }

    public StreamsConfigException(string message)
        : base(message)
    {
    }

    public StreamsConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The option at fault, e.g. <c>CommitInterval</c>.</summary>
    public string? Option { get; init; }
}
