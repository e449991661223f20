using Microsoft.Extensions.Logging;

namespace Wal.Streams.Internals;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Stream thread {Thread} changed state to {State}")]
    public static partial void ThreadState(ILogger logger, string thread, StreamThreadState state);

    [LoggerMessage(2, LogLevel.Information, "Stream thread {Thread} was assigned [{Partitions}]")]
    public static partial void Assigned(ILogger logger, string thread, string partitions);

    [LoggerMessage(3, LogLevel.Information, "Stream thread {Thread} had [{Partitions}] revoked")]
    public static partial void Revoked(ILogger logger, string thread, string partitions);

    [LoggerMessage(4, LogLevel.Warning, "Stream thread {Thread} lost [{Partitions}]; closing their tasks without committing")]
    public static partial void Lost(ILogger logger, string thread, string partitions);

    [LoggerMessage(5, LogLevel.Information, "Task {Task} restores {Changelog} from offset {From} to {To}")]
    public static partial void RestoreStart(ILogger logger, TaskId task, string changelog, long from, long to);

    [LoggerMessage(6, LogLevel.Information, "Task {Task} finished restoring in {ElapsedMs} ms and is running")]
    public static partial void RestoreDone(ILogger logger, TaskId task, long elapsedMs);

    [LoggerMessage(7, LogLevel.Warning, "Task {Task}: store {Store} has no trustworthy checkpoint ({Reason}); wiping it and restoring from the changelog's beginning")]
    public static partial void Wipe(ILogger logger, TaskId task, string store, string reason);

    [LoggerMessage(8, LogLevel.Error, "Task {Task}: record {Topic}-{Partition}@{Offset} failed to deserialize; handler {Handling}")]
    public static partial void DeserializationFailed(ILogger logger, Exception error, TaskId task, string topic, int partition, long offset, DeserializationExceptionHandling handling);

    [LoggerMessage(9, LogLevel.Warning, "Stream thread {Thread}: commit failed; uncommitted records will be redelivered")]
    public static partial void CommitFailed(ILogger logger, Exception error, string thread);

    [LoggerMessage(21, LogLevel.Warning, "Stream thread {Thread}: the final commit of its shutdown failed; its tasks close without a new checkpoint, and the records processed since the last commit are processed again after the restart")]
    public static partial void FinalCommitFailed(ILogger logger, Exception error, string thread);

    [LoggerMessage(22, LogLevel.Warning, "Stream thread {Thread}: the cluster's metadata could not be read; the changelogs' partition counts are not checked against their inputs at this assignment")]
    public static partial void PartitionCountsUnknown(ILogger logger, Exception error, string thread);

    [LoggerMessage(18, LogLevel.Warning, "Stream thread {Thread} fell out of the group ({Reason}); its tasks are closed as lost, and it rejoins")]
    public static partial void MaxPollExceeded(ILogger logger, string thread, string reason);

    [LoggerMessage(17, LogLevel.Information, "Stream thread {Thread}: the stores of task {Task} are still held by another thread of this instance; it waits, and is tried again ({Reason})")]
    public static partial void TaskStoresLocked(ILogger logger, string thread, TaskId task, string reason);

    [LoggerMessage(16, LogLevel.Warning, "Stream thread {Thread}: could not resume the partitions of a task it closed; if it gets them back they may stay paused")]
    public static partial void ResumeFailed(ILogger logger, Exception error, string thread);

    [LoggerMessage(10, LogLevel.Error, "Stream thread {Thread} failed and stops")]
    public static partial void ThreadFailed(ILogger logger, Exception error, string thread);

    [LoggerMessage(15, LogLevel.Warning, "Stream thread {Thread}: leaving the group failed; its partitions move when its session times out")]
    public static partial void LeaveGroupFailed(ILogger logger, Exception error, string thread);

    [LoggerMessage(11, LogLevel.Warning, "Task {Task}: closing dirty failed")]
    public static partial void CloseDirtyFailed(ILogger logger, Exception error, TaskId task);

    [LoggerMessage(12, LogLevel.Information, "KafkaStreams {ApplicationId} changed state from {OldState} to {NewState}")]
    public static partial void StreamsState(ILogger logger, string applicationId, KafkaStreamsState oldState, KafkaStreamsState newState);

    [LoggerMessage(14, LogLevel.Information, "Task {Task}: store {Store} has no local state yet; restoring it from the changelog's beginning")]
    public static partial void NoLocalState(ILogger logger, TaskId task, string store);

    [LoggerMessage(13, LogLevel.Warning, "Task {Task}: ignoring its unreadable checkpoint")]
    public static partial void CheckpointIgnored(ILogger logger, Exception error, TaskId task);

    [LoggerMessage(20, LogLevel.Warning, "Task {Task}: store {Store}'s files are corrupt; wiping it and restoring from the changelog's beginning")]
    public static partial void CorruptStoreWiped(ILogger logger, Exception error, TaskId task, string store);

    [LoggerMessage(23, LogLevel.Error, "Stream thread {Thread}: store {Store} of task {Task} is corrupt; the task closes without committing, the store is wiped and restored from its changelog's beginning, and the records since the last commit are processed again")]
    public static partial void CorruptTaskRevived(ILogger logger, Exception error, string thread, string store, TaskId task);

    [LoggerMessage(24, LogLevel.Warning, "Task {Task}: restoring {Changelog} reached an offset the changelog no longer holds (truncated, recreated or trimmed by retention); wiping the store and restoring it from the changelog's beginning")]
    public static partial void RestoreOutOfRange(ILogger logger, Exception error, TaskId task, string changelog);

    [LoggerMessage(25, LogLevel.Debug, "Restoring {Changelog} reached an offset the changelog no longer holds, reported after its restore ended or its task closed; ignored")]
    public static partial void RestoreOutOfRangeIgnored(ILogger logger, string changelog);

    [LoggerMessage(19, LogLevel.Warning, "Stream thread {Thread}: the end offset of input {Input} is unknown; its task is not caught up until the consumer reports the end again")]
    public static partial void InputEndUnknown(ILogger logger, Exception error, string thread, string input);

    [LoggerMessage(26, LogLevel.Information, "Removing the state directory of task {Task}: the topology has no sub-topology {Subtopology} (renamed, removed, or numbered before it was named) and nothing wrote to it for 10 minutes; its logged stores live on in their changelogs")]
    public static partial void StaleTaskDirectoryRemoved(ILogger logger, string task, string subtopology);

    [LoggerMessage(27, LogLevel.Warning, "Could not remove the state directory of task {Task}, of a sub-topology the topology does not have; it stays")]
    public static partial void StaleTaskDirectoryKept(ILogger logger, Exception error, string task);
}
