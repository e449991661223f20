namespace Wal.Grpc.Tests;

/// <summary>A clock that moves only when told to; its timers fire, in the caller's thread, as it passes their time.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _ticks;
        }
    }

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch + TimeSpan.FromTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        long end;
        lock (_gate)
        {
            end = _ticks + by.Ticks;
        }

        // One timer at a time, the earliest first, the clock at its due time: a callback sees the time it was set for.
        while (NextDue(end) is { } timer)
        {
            timer.Fire();
        }

        lock (_gate)
        {
            _ticks = end;
        }
    }

    private ManualTimer? NextDue(long end)
    {
        lock (_gate)
        {
            var next = _timers.Where(t => t.DueAt <= end).MinBy(t => t.DueAt);
            if (next is not null)
            {
                _ticks = Math.Max(_ticks, next.DueAt);
                next.Advance();
            }

            return next;
        }
    }

    private sealed class ManualTimer(ManualTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        private long _period;

        public long DueAt { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                clock._timers.Remove(this);
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    DueAt = clock._ticks + dueTime.Ticks;
                    _period = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
                    clock._timers.Add(this);
                }

                return true;
            }
        }

        public void Fire() => callback(state);

        // Under the clock's lock, as this timer is taken to fire: due again after its period, or no more.
        public void Advance()
        {
            if (_period > 0)
            {
                DueAt += _period;
            }
            else
            {
                clock._timers.Remove(this);
            }
        }

        public void Dispose() => Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
