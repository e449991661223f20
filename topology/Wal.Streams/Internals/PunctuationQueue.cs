namespace Wal.Streams.Internals;

/// <summary>The punctuators of one task on one clock, ordered by next fire time.</summary>
internal sealed class PunctuationQueue
{
    private readonly PriorityQueue<PunctuationSchedule, long> _queue = new();

    public void Add(PunctuationSchedule schedule) => _queue.Enqueue(schedule, schedule.NextFireMs);

    /// <summary>When the next schedule is due (Unix ms; possibly a cancelled one, which only wakes the loop early), or null if none.</summary>
    public long? NextDueMs => _queue.TryPeek(out _, out var due) ? due : null;

    /// <summary>Fires every schedule due at <paramref name="nowMs"/>, each at most once; true if any fired.</summary>
    public async ValueTask<bool> MayPunctuateAsync(long nowMs, Action<PunctuationSchedule>? beforeEach = null)
    {
        ReanchorIfTheClockWentBack(nowMs);
        var fired = false;
        while (_queue.TryPeek(out var schedule, out var due) && due <= nowMs)
        {
            _ = _queue.Dequeue();
            if (schedule.Cancelled)
            {
                continue;
            }

            beforeEach?.Invoke(schedule);
            try
            {
                await schedule.Punctuator(DateTimeOffset.FromUnixTimeMilliseconds(nowMs));
            }
            finally
            {
                if (!schedule.Cancelled)
                {
                    schedule.Advance(nowMs);
                    _queue.Enqueue(schedule, schedule.NextFireMs);
                }
            }

            fired = true;
        }

        return fired;
    }

    // A wall clock stepped back (NTP, a resumed VM) leaves the grid ahead by the step: nothing would fire for that long,
    // delay timers and retries included. A schedule due more than one interval from now can only be such a one (stream
    // time never goes back): it fires now and keeps its interval from there. Every schedule is looked at, not only the
    // earliest: a long-interval one due first hid a step shorter than its interval from the 1 s timers behind it.
    private void ReanchorIfTheClockWentBack(long nowMs)
    {
        if (!AnyBeyondItsInterval(nowMs))
        {
            return;
        }

        var schedules = _queue.UnorderedItems.Select(i => i.Element).ToList();
        _queue.Clear();
        foreach (var schedule in schedules)
        {
            if (schedule.NextFireMs - nowMs > schedule.IntervalMs)
            {
                schedule.Reanchor(nowMs);
            }

            _queue.Enqueue(schedule, schedule.NextFireMs);
        }
    }

    private bool AnyBeyondItsInterval(long nowMs)
    {
        foreach (var (schedule, due) in _queue.UnorderedItems)
        {
            if (due - nowMs > schedule.IntervalMs)
            {
                return true;
            }
        }

        return false;
    }
}
