namespace Wal.Sinks.Cassandra.Tests.Integration;

/// <summary>
/// A fact that needs a real Cassandra: it runs when WAL_CASSANDRA_CONTACT_POINTS is set (the
/// docker-compose setup sets it) and is reported as skipped, with the reason, when it is not.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CassandraFactAttribute : FactAttribute
{
    public const string ContactPointsVariable = "WAL_CASSANDRA_CONTACT_POINTS";

    public CassandraFactAttribute()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ContactPointsVariable)))
        {
            Skip = $"{ContactPointsVariable} is not set: no real Cassandra to test against (docker-compose provides one; see docs/cassandra.md).";
        }
    }
}
