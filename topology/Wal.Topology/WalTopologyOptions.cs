namespace Wal.Topology;

/// <summary>Knobs of the WAL processors, the same for every namespace.</summary>
public sealed record WalTopologyOptions
{
    /// <summary>This region's name; replicated records carry their origin region.</summary>
    public string Region { get; init; } = "local";

    /// <summary>
    /// How often the wall-clock punctuator looks for due timers: a timer fires up to one tick late, so
    /// the tick is the floor of delivery lateness. A tick with nothing due costs one seek.
    /// </summary>
    public TimeSpan TimerTick { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Most timers fired per punctuation, so a backlog (a sink back after an outage) is worked off
    /// in slices and the task keeps polling, committing and heartbeating in between.
    /// </summary>
    public int MaxTimersPerTick { get; init; } = 2_000;

    /// <summary>
    /// Most stored timer bytes a punctuation of the dispatcher reads before it fires any: it parses the due timers
    /// first, and a count alone did not bound the memory that takes, since 2,000 timers of entries near the 1 MiB record
    /// limit came to about 2 GB in one tick. The timer that crosses the bound is still taken, so at least one fires.
    /// </summary>
    public long MaxTimerBytesPerTick { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Longest a punctuation keeps firing timers: the rest wait for the next one. A count alone did not bound it: against
    /// a target that accepts and never answers, each attempt takes <see cref="DeliveryTimeout"/>, and 2,000 of them held
    /// the stream thread for hours, every other namespace on it included. At least one timer fires per punctuation.
    /// </summary>
    public TimeSpan MaxTimerFiringTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest wait for one delivery before it counts as a retriable failure. A mutation's chunks go
    /// to the sink in one call, which may take this times their number.
    /// </summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Most chunk bytes in one dead-letter record of a mutation; a larger mutation is dead-lettered
    /// as several parts. Below the producer's message.max.bytes (1,000,000 by default): a record
    /// above it is refused inside Produce, which fails the stream thread, and the mutation would
    /// fail it again after every restart.
    /// </summary>
    public int MaxDeadLetterBytes { get; init; } = 900_000;

    /// <summary>Use RocksDB stores (true) or in-memory ones (tests, the test driver).</summary>
    public bool PersistentStores { get; init; } = true;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Region))
        {
            throw new ArgumentException("Region must not be empty.", nameof(Region));
        }

        if (TimerTick <= TimeSpan.Zero)
        {
            throw new ArgumentException($"TimerTick {TimerTick} must be positive.", nameof(TimerTick));
        }

        if (MaxTimersPerTick < 1)
        {
            throw new ArgumentException($"MaxTimersPerTick {MaxTimersPerTick} must be at least 1.", nameof(MaxTimersPerTick));
        }

        if (MaxTimerBytesPerTick < 1)
        {
            throw new ArgumentException($"MaxTimerBytesPerTick {MaxTimerBytesPerTick} must be at least 1.", nameof(MaxTimerBytesPerTick));
        }

        if (MaxTimerFiringTime <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MaxTimerFiringTime {MaxTimerFiringTime} must be positive.", nameof(MaxTimerFiringTime));
        }

        if (DeliveryTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"DeliveryTimeout {DeliveryTimeout} must be positive.", nameof(DeliveryTimeout));
        }

        if (MaxDeadLetterBytes < 1)
        {
            throw new ArgumentException($"MaxDeadLetterBytes {MaxDeadLetterBytes} must be at least 1.", nameof(MaxDeadLetterBytes));
        }
    }
}
