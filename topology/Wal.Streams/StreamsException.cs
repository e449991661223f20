namespace Wal.Streams;

/// <summary>
/// A failure the runtime cannot recover from by itself: the stream thread that meets it stops and
/// <see cref="KafkaStreams"/> moves to <see cref="KafkaStreamsState.Error"/>.
/// </summary>
public class StreamsException : Exception
{
    public StreamsException()
    {
    }

    public StreamsException(string message)
        : base(message)
    {
    }

    public StreamsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
