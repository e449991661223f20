using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Wal.Grpc.Tests;

namespace Wal.Ingress.Tests;

/// <summary>The warning for a refused connection, against the middleware alone.</summary>
public sealed class ConnectionLimitWarningTests
{
    [Fact]
    public async Task Apply_ConnectionRefused_WarnedBeforeItIsClosed()
    {
        // ConnectionLimitTests asserts the warning as soon as its client sees the connection closed: a warning written
        // after the close raced that assertion.
        using var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var limit = new ConnectionLimit(0);
        var connection = new RefusedConnection(logs);

        await limit.Apply(_ => Task.CompletedTask, loggers.CreateLogger<ConnectionLimit>())(connection);

        Assert.Equal(1, limit.Refused);
        Assert.True(connection.Aborted);
        Assert.Equal(1, connection.WarningsWhenAborted);
    }

    [Fact]
    public async Task Apply_RefusedAfterTheWarningThenNoMore_WarnedOfOnceTheMinuteIsOver()
    {
        using var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var time = new ManualTimeProvider();
        using var limit = new ConnectionLimit(0, time);
        var apply = limit.Apply(_ => Task.CompletedTask, loggers.CreateLogger<ConnectionLimit>());
        await apply(new RefusedConnection(logs));
        time.Advance(TimeSpan.FromSeconds(10));

        // The flood's last refusals: within the minute of the first warning, and none after them.
        for (var i = 0; i < 3; i++)
        {
            await apply(new RefusedConnection(logs));
        }

        time.Advance(TimeSpan.FromSeconds(49));
        Assert.Equal(["Closed 1 new"], Warnings(logs));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["Closed 1 new", "Closed 3 new"], Warnings(logs));
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(["Closed 1 new", "Closed 3 new"], Warnings(logs));
        Assert.Equal(4, limit.Refused);
    }

    [Fact]
    public async Task Apply_FloodOverSeveralMinutes_OneWarningAMinuteCountingEveryRefusal()
    {
        using var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var time = new ManualTimeProvider();
        using var limit = new ConnectionLimit(0, time);
        var apply = limit.Apply(_ => Task.CompletedTask, loggers.CreateLogger<ConnectionLimit>());

        // Two refusals every 20 s for three minutes.
        for (var step = 0; step < 9; step++)
        {
            await apply(new RefusedConnection(logs));
            await apply(new RefusedConnection(logs));
            time.Advance(TimeSpan.FromSeconds(20));
        }

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(["Closed 1 new", "Closed 5 new", "Closed 6 new", "Closed 6 new"], Warnings(logs));
    }

    [Fact]
    public async Task Dispose_RefusalsWaitingForTheirWarning_WarnedAtOnce()
    {
        using var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var time = new ManualTimeProvider();
        var limit = new ConnectionLimit(0, time);
        var apply = limit.Apply(_ => Task.CompletedTask, loggers.CreateLogger<ConnectionLimit>());
        await apply(new RefusedConnection(logs));
        await apply(new RefusedConnection(logs));
        await apply(new RefusedConnection(logs));

        limit.Dispose();

        Assert.Equal(["Closed 1 new", "Closed 2 new"], Warnings(logs));
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(["Closed 1 new", "Closed 2 new"], Warnings(logs));
    }

    [Fact]
    public async Task Apply_TimerCallbackRunningLateAfterARefusalWarnedInItsStead_NoSecondWarningWithinTheMinute()
    {
        // System.Threading.Timer queues its callback to the thread pool, so a callback can run after its timer was
        // disposed: here the minute's timer is due, a refusal warns in its stead and disposes it, a later refusal
        // schedules the next minute's timer, and only then does the old callback run.
        using var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var time = new HeldTimers();
        using var limit = new ConnectionLimit(0, time);
        var apply = limit.Apply(_ => Task.CompletedTask, loggers.CreateLogger<ConnectionLimit>());
        await apply(new RefusedConnection(logs));
        time.Advance(TimeSpan.FromSeconds(10));
        await apply(new RefusedConnection(logs));
        var late = Assert.Single(time.Callbacks);
        time.Advance(TimeSpan.FromSeconds(50));
        await apply(new RefusedConnection(logs));
        time.Advance(TimeSpan.FromSeconds(1));
        await apply(new RefusedConnection(logs));

        late();

        Assert.Equal(["Closed 1 new", "Closed 2 new"], Warnings(logs));
        time.Advance(TimeSpan.FromSeconds(59));
        time.Callbacks[^1]();
        Assert.Equal(["Closed 1 new", "Closed 2 new", "Closed 1 new"], Warnings(logs));
    }

    // Each warning's opening words, which carry its count.
    private static List<string> Warnings(ListLoggerProvider logs) =>
        [.. logs.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => string.Join(' ', e.Message.Split(' ').Take(3)))];

    /// <summary>A clock that moves only when told to, whose timers never fire by themselves: the test runs their callbacks.</summary>
    private sealed class HeldTimers : TimeProvider
    {
        private long _ticks;

        public List<Action> Callbacks { get; } = [];

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Callbacks.Add(() => callback(state));
            return new HeldTimer();
        }

        private sealed class HeldTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>Notes how many warnings the log held when the middleware closed it.</summary>
    private sealed class RefusedConnection(ListLoggerProvider logs) : ConnectionContext
    {
        public bool Aborted { get; private set; }

        public int WarningsWhenAborted { get; private set; }

        public override string ConnectionId { get; set; } = "refused";

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

        public override IDuplexPipe Transport { get; set; } = null!;

        public override void Abort(ConnectionAbortedException abortReason)
        {
            Aborted = true;
            WarningsWhenAborted = logs.Entries.Count(e => e.Level == LogLevel.Warning);
        }
    }
}
