using Wal.Schemas.V1;
using Wal.Sinks;

namespace Wal.Topology.Dispatch;

/// <summary>Turns a log entry into what a sink delivers.</summary>
public static class EntryDelivery
{
    /// <summary>
    /// The sink's version guard uses the original write time in microseconds (the caller's clock
    /// when it gave one, else the ingress's accept time): a redelivered entry carries the same
    /// version, and an older write never overwrites a newer one.
    /// </summary>
    public static long Version(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var written = entry.Lifecycle?.OriginalWriteTime;
        return written is not null
            ? (written.Seconds * 1_000_000) + (written.Nanos / 1_000)
            : entry.AcceptedAtMs * 1_000;
    }

    public static Delivery From(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new Delivery(entry.Id, entry.Target ?? new Target(), entry.Payload.Memory, Version(entry));
    }
}
