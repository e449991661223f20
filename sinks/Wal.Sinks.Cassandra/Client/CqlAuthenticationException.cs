using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Client;

/// <summary>
/// The server wants credentials this client cannot give (none configured, or an authenticator
/// that needs more than SASL PLAIN). Configuration must change; a retry cannot help.
/// </summary>
public sealed class CqlAuthenticationException : CqlException
{
    public CqlAuthenticationException(string message)
        : base(message, isRetriable: false)
    {
    }
}
