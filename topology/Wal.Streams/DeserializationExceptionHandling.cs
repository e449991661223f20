namespace Wal.Streams;

/// <summary>What happens to a source record whose key or value fails to deserialize.</summary>
public enum DeserializationExceptionHandling
{
    /// <summary>Log it and stop the stream thread with a <see cref="RecordDeserializationException"/>.</summary>
    LogAndFail,

    /// <summary>
    /// Log it, send its original bytes to <see cref="StreamsConfig.DeadLetterTopic"/> with error headers, and go on with the next record.
    /// </summary>
    LogAndContinue,
}
