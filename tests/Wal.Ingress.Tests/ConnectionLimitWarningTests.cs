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
