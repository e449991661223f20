namespace Wal.Streams;

/// <summary>
/// A source record could not be deserialized and the configured handler is <see cref="DeserializationExceptionHandling.LogAndFail"/>.
/// The record's offset is not committed: after fixing the deserializer (or switching to LogAndContinue) the record is read again.
/// </summary>
public sealed class RecordDeserializationException : StreamsException
{
    public RecordDeserializationException()
    {
    }

    public RecordDeserializationException(string message)
        : base(message)
    {
    }

    public RecordDeserializationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? Topic { get; init; }

    public int Partition { get; init; }

    public long Offset { get; init; }
}
