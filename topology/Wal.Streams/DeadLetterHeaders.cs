namespace Wal.Streams;

/// <summary>Headers added to a record sent to the dead-letter topic by <see cref="DeserializationExceptionHandling.LogAndContinue"/>; the original headers are kept.</summary>
public static class DeadLetterHeaders
{
    public const string Topic = "wal.streams.error.topic";
    public const string Partition = "wal.streams.error.partition";
    public const string Offset = "wal.streams.error.offset";
    public const string TaskId = "wal.streams.error.task";
    public const string ExceptionType = "wal.streams.error.exception";
    public const string ExceptionMessage = "wal.streams.error.message";
}
