namespace Wal.Sinks.Cassandra.Messages;

/// <summary>AUTHENTICATE (spec 4.2.3): credentials are required; names the server's authenticator class.</summary>
public sealed record AuthenticateResponse(string Authenticator) : CqlResponse;
