namespace Wal.Sinks.Cassandra.Messages;

/// <summary>AUTH_CHALLENGE (spec 4.2.7): a further SASL token to answer.</summary>
public sealed record AuthChallengeResponse(byte[]? Token) : CqlResponse;
