using Wal.Schemas.V1;

namespace Wal.Topology.Retry;

/// <summary>
/// Exponential backoff with jitter, from a namespace's <see cref="RetryPolicy"/>:
/// wait(n) = min(initial × multiplier^(n−1), max), then spread by ±jitter/2 of itself.
/// </summary>
public sealed class BackoffPolicy
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly double _multiplier;
    private readonly double _jitter;

    public BackoffPolicy(RetryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _initial = policy.InitialBackoff.ToTimeSpan();
        _max = policy.MaxBackoff.ToTimeSpan();
        _multiplier = policy.Multiplier;
        _jitter = policy.Jitter;
        MaxAttempts = policy.MaxAttempts;
    }

    /// <summary>Attempts in all, the first included.</summary>
    public int MaxAttempts { get; }

    /// <summary>Whether another attempt is allowed after <paramref name="attemptsMade"/> attempts failed.</summary>
    public bool CanRetry(int attemptsMade) => attemptsMade < MaxAttempts;

    /// <summary>The wait before attempt <paramref name="attemptsMade"/> + 1.</summary>
    /// <param name="attemptsMade">Attempts already made, at least 1.</param>
    /// <param name="random">A value in [0, 1) that places the wait inside its jitter band.</param>
    /// <param name="atLeast">The wait the target asked for, if any (an HTTP Retry-After): honoured up to the policy's max backoff.</param>
    public TimeSpan Delay(int attemptsMade, double random, TimeSpan? atLeast = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attemptsMade, 1);
        // Compute in doubles and cap before converting: initial × multiplier^n overflows a TimeSpan quickly.
        var exponential = _initial.TotalMilliseconds * Math.Pow(_multiplier, attemptsMade - 1);
        var capped = Math.Min(exponential, _max.TotalMilliseconds);
        var spread = capped * _jitter * (random - 0.5);
        var wait = TimeSpan.FromMilliseconds(Math.Max(0, capped + spread));
        var asked = atLeast is { } a && a > _max ? _max : atLeast.GetValueOrDefault();
        return asked > wait ? asked : wait;
    }
}
