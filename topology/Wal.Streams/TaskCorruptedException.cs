namespace Wal.Streams;

/// <summary>
/// A task's local state cannot be trusted (a checkpoint past the changelog's end, an aborted transaction under exactly-once,
/// a store whose files RocksDB found corrupt). Recovery: wipe the task's stores and restore them from their changelogs.
/// </summary>
public sealed class TaskCorruptedException : StreamsException
{
    public TaskCorruptedException()
    {
    }

    public TaskCorruptedException(string message)
        : base(message)
    {
    }

    public TaskCorruptedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The store whose files were found corrupt, when the corruption was found in one.</summary>
    public string? StoreName { get; init; }
}
