namespace Wal.Streams;

/// <summary>
/// <see cref="KafkaStreams.StartAsync"/> could not lock its application's state directory: another instance, in this process
/// or another, runs with the same <see cref="StreamsConfig.StateDirectory"/> and <see cref="StreamsConfig.ApplicationId"/>.
/// Nothing was started; give each instance its own state directory.
/// </summary>
public sealed class StateDirectoryLockedException : StreamsException
{
    public StateDirectoryLockedException()
    {
    }

    public StateDirectoryLockedException(string message)
        : base(message)
    {
    }

    public StateDirectoryLockedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The application's directory, <c>{StateDirectory}/{ApplicationId}</c>.</summary>
    public string? Directory { get; init; }
}
