using Google.Protobuf.WellKnownTypes;

namespace Wal.Schemas.V1;

/// <summary>What the contract's durations (delays, jitter, TTLs, timeouts) must be.</summary>
public static class DurationRules
{
    /// <summary>
    /// Protobuf's rules for a duration (seconds and nanos in range and of one sign), and not negative: anything else
    /// either throws in <see cref="Duration.ToTimeSpan"/> or means a wait that cannot be.
    /// </summary>
    public static bool IsValidNonNegative(Duration duration)
    {
        ArgumentNullException.ThrowIfNull(duration);
        var (seconds, nanos) = (duration.Seconds, duration.Nanos);
        return seconds >= 0 && nanos is >= 0 and < 1_000_000_000 && seconds <= Duration.MaxSeconds;
    }
}
