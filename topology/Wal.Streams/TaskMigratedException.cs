namespace Wal.Streams;

/// <summary>
/// The task now belongs to another instance (the group rebalanced underneath it, a commit was fenced).
/// Recovery: close the task without committing and rejoin the group; what was not committed is reprocessed by the new owner.
/// </summary>
public sealed class TaskMigratedException : StreamsException
{
    public TaskMigratedException()
    {
    }

    public TaskMigratedException(string message)
        : base(message)
    {
    }

    public TaskMigratedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
