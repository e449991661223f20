namespace Wal.Streams.Internals;

internal enum StreamThreadState
{
    Created,
    Starting,
    PartitionsRevoked,
    PartitionsAssigned,
    Running,
    PendingShutdown,
    Dead,
}
