namespace Wal.Streams.Internals;

/// <summary>One scheduled punctuator and its next absolute fire time (Unix ms).</summary>
internal sealed class PunctuationSchedule(string nodeName, long intervalMs, long firstFireMs, Func<DateTimeOffset, ValueTask> punctuator)
    : ICancellable
{
    public string NodeName { get; } = nodeName;

    public long IntervalMs { get; } = intervalMs;

    public long NextFireMs { get; private set; } = firstFireMs;

    public Func<DateTimeOffset, ValueTask> Punctuator { get; } = punctuator;

    public bool Cancelled { get; private set; }

    public void Cancel() => Cancelled = true;

    /// <summary>Starts the grid again at <paramref name="nowMs"/>, due at once: the clock went back past this schedule's grid.</summary>
    public void Reanchor(long nowMs) => NextFireMs = nowMs;

    /// <summary>
    /// Moves to the next fire time after a punctuation at <paramref name="nowMs"/>. Fire times stay on the original grid
    /// (absolute), and when several intervals were missed the next time is the first grid point after now, so they fire once.
    /// </summary>
    public void Advance(long nowMs)
    {
        var next = NextFireMs + IntervalMs;
        if (nowMs >= next)
        {
            var missed = (nowMs - NextFireMs) / IntervalMs;
            next = NextFireMs + ((missed + 1) * IntervalMs);
        }

        NextFireMs = next;
    }
}
