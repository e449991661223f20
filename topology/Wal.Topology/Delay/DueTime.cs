using Wal.Schemas.V1;

namespace Wal.Topology.Delay;

/// <summary>When an entry is first due, from its lifecycle.</summary>
public static class DueTime
{
    /// <summary>
    /// accepted_at + delay (or deliver_at), plus a share of the jitter, and never before the epoch. The share
    /// comes from a hash of the id, not a random draw, so that reprocessing the same entry after a crash computes
    /// the same due time and lands on the same timer key instead of scheduling a second timer.
    /// </summary>
    /// <exception cref="InvalidOperationException">A duration is not normalized (the ingress refuses those; a record written around it may have one).</exception>
    /// <exception cref="ArgumentOutOfRangeException">deliver_at is outside the years 1 to 9999.</exception>
    /// <exception cref="OverflowException">The due time does not fit in milliseconds since the epoch.</exception>
    /// <remarks>
    /// A delay counts from the accept time, but from no later than <paramref name="nowMs"/>: an accept time ahead of
    /// this host's clock is the ingress host's clock running ahead (or a record written around the ingress), and
    /// counted from it an entry with no schedule ("as soon as possible") waited out the skew, and one stamped a
    /// year ahead waited a year whatever its delay and the namespace's max_delay.
    /// </remarks>
    public static long FirstDueAtMs(LogEntry entry, long nowMs) => FirstDueAtMs(entry, nowMs, roundUp: true);

    /// <summary>
    /// The due time versions before due times were rounded up gave <paramref name="entry"/>: a delay or deliver_at that
    /// ends between two milliseconds at the earlier one. The first timer they stored has it in its key, and the record,
    /// read again after an upgrade, must find that timer rather than schedule or deliver itself a second time.
    /// </summary>
    public static long TruncatedFirstDueAtMs(LogEntry entry, long nowMs) => FirstDueAtMs(entry, nowMs, roundUp: false);

    private static long FirstDueAtMs(LogEntry entry, long nowMs, bool roundUp)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var acceptedAtMs = Math.Min(entry.AcceptedAtMs, nowMs);
        var lifecycle = entry.Lifecycle;
        if (lifecycle is null)
        {
            return acceptedAtMs;
        }

        var due = lifecycle.ScheduleCase switch
        {
            // Both rounded up to the millisecond: a wait that ends between two milliseconds is not over at the first.
            Lifecycle.ScheduleOneofCase.Delay => checked(acceptedAtMs + (long)(roundUp ? Math.Ceiling(lifecycle.Delay.ToTimeSpan().TotalMilliseconds) : lifecycle.Delay.ToTimeSpan().TotalMilliseconds)),
            Lifecycle.ScheduleOneofCase.DeliverAt => roundUp ? NotBeforeMs(lifecycle.DeliverAt.ToDateTimeOffset()) : lifecycle.DeliverAt.ToDateTimeOffset().ToUnixTimeMilliseconds(),
            _ => acceptedAtMs,
        };
        var jitterMs = lifecycle.Jitter is null ? 0 : (long)lifecycle.Jitter.ToTimeSpan().TotalMilliseconds;
        // Not before the epoch: the ingress takes a deliver_at from the year 1 on (due at once), and a due key holds no
        // negative time, so such an entry, read again to look for its first timer, failed the stream thread at every restart.
        return Math.Max(0, jitterMs <= 0 ? due : checked(due + (long)(StableFraction(entry.Id) * jitterMs)));
    }

    private static long NotBeforeMs(DateTimeOffset at) =>
        at.ToUnixTimeMilliseconds() + (at.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? 0 : 1);

    /// <summary>
    /// Whether <paramref name="entry"/> asks to wait (a delay, a deliver_at or a jitter): only such an entry can have been
    /// stored as a timer when first read. One without is due at its accept time, as soon as it is read.
    /// </summary>
    public static bool IsScheduled(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Lifecycle is { } lifecycle
            && (lifecycle.ScheduleCase != Lifecycle.ScheduleOneofCase.None || lifecycle.Jitter is { Seconds: > 0 } or { Nanos: > 0 });
    }

    /// <summary>A value in [0, 1) determined by <paramref name="id"/> (FNV-1a, 64-bit).</summary>
    public static double StableFraction(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var hash = 14695981039346656037UL;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (hash >> 11) / (double)(1UL << 53);
    }
}
