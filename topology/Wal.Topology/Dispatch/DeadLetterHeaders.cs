namespace Wal.Topology.Dispatch;

/// <summary>Headers on a dead-letter record: why it is there and where it came from.</summary>
public static class DeadLetterHeaders
{
    public const string Error = "wal.error";
    public const string Attempts = "wal.attempts";
    public const string Namespace = "wal.namespace";
    public const string SourceTopic = "wal.source.topic";
    public const string SourcePartition = "wal.source.partition";
    public const string SourceOffset = "wal.source.offset";
    public const string FailedAtMs = "wal.failed.at.ms";

    /// <summary>"retriable" (attempts exhausted) or "permanent" (retrying could not help).</summary>
    public const string Reason = "wal.reason";

    /// <summary>Whether a dispatch dead letter sets <paramref name="key"/> itself.</summary>
    public static bool IsSetByDeadLetter(string key) =>
        key is Error or Attempts or Namespace or SourceTopic or SourcePartition or SourceOffset or FailedAtMs or Reason;
}
