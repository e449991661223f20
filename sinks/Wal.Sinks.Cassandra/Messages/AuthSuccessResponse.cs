namespace Wal.Sinks.Cassandra.Messages;

/// <summary>AUTH_SUCCESS (spec 4.2.8): authentication is done.</summary>
public sealed record AuthSuccessResponse(byte[]? Token) : CqlResponse;
