namespace Wal.Cli;

/// <summary>Exit codes a script can act on.</summary>
internal static class ExitCodes
{
    /// <summary>Done; for writes: durable TRUE.</summary>
    public const int Ok = 0;

    /// <summary>Something failed that the message explains (a server unreachable, a file unreadable).</summary>
    public const int Failed = 1;

    /// <summary>The command line or an input file is invalid; nothing was done.</summary>
    public const int Usage = 2;

    /// <summary>A write was refused: durable FALSE. Safe to fix and retry.</summary>
    public const int NotDurable = 3;

    /// <summary>A write's outcome is unknown: durable UNKNOWN. Retry only if the write is idempotent.</summary>
    public const int Unknown = 4;

    /// <summary>
    /// A redrive passed over dead letters it cannot re-enqueue (listed with why); the rest were re-enqueued. Its position
    /// is past them, so running it again does not retry them: they stay in the DLQ for a person to look at. A dry run exits so too when it would skip some.
    /// </summary>
    public const int Skipped = 5;
}
