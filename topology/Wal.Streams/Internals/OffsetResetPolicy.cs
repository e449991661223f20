using Confluent.Kafka;

namespace Wal.Streams.Internals;

/// <summary>Where a consumer starts a partition its group has committed no offset for, as its <c>auto.offset.reset</c> says.</summary>
internal static class OffsetResetPolicy
{
    /// <summary>
    /// <see cref="Offset.Beginning"/> or <see cref="Offset.End"/> for <paramref name="config"/>'s <c>auto.offset.reset</c>
    /// (librdkafka's names and their aliases; unset is librdkafka's default, the end); null for <c>error</c>, which starts nowhere.
    /// </summary>
    public static Offset? StartWithoutCommit(ClientConfig config) => config.Get("auto.offset.reset")?.ToLowerInvariant() switch
    {
        "smallest" or "earliest" or "beginning" => Offset.Beginning,
        null or "largest" or "latest" or "end" => Offset.End,
        _ => null,
    };
}
