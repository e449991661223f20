namespace Wal.Sinks.Cassandra.Messages;

/// <summary>SUPPORTED (spec 4.2.4): each STARTUP option and its allowed values.</summary>
public sealed record SupportedResponse(IReadOnlyDictionary<string, IReadOnlyList<string>> Options) : CqlResponse;
