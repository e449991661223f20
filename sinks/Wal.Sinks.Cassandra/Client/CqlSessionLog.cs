using Microsoft.Extensions.Logging;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>What a session tells operators: where it is connected, what it lost, what it re-prepared.</summary>
internal static partial class CqlSessionLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Connected to Cassandra at {Endpoint}")]
    public static partial void Connected(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Connection to Cassandra at {Endpoint} was lost ({Reason}); reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string endpoint, string? reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Cassandra contact point {ContactPoint} did not answer")]
    public static partial void ContactPointFailed(ILogger logger, string contactPoint, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Cassandra at {Endpoint} no longer knows a prepared statement; preparing it again")]
    public static partial void Repreparing(ILogger logger, string endpoint);
}
