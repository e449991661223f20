namespace Wal.Topology;

/// <summary>
/// Sizes that keep the records this topology writes within what Kafka takes. The ingress writes log records up to
/// librdkafka's default <c>message.max.bytes</c> (1,000,000); from one of those the topology writes bigger ones: a
/// timer adds its due time and delivery state, a retry its last error, a dead letter its headers, a replicated record
/// its origin headers. Its producers therefore take records up to <see cref="ProducerMaxMessageBytes"/>, just under a
/// broker's default limit (1,048,588), and error text is cut to <see cref="MaxErrorLength"/>, which leaves the headroom
/// for everything added. A refused record fails a stream thread on every restart (it is replayed from the input, or
/// restored from a changelog), so a record the ingress acknowledged must always fit.
/// </summary>
public static class RecordLimits
{
    /// <summary>The producers' <c>message.max.bytes</c>, unless configured otherwise.</summary>
    public const int ProducerMaxMessageBytes = 1_048_576;

    /// <summary>The longest error text kept with a pending delivery or a dead letter (a sink may quote a whole response).</summary>
    public const int MaxErrorLength = 4_096;

    /// <summary>
    /// The longest entry id, in UTF-8 bytes, the topology keeps; an entry with a longer one is dead-lettered at once.
    /// </summary>
    /// <remarks>
    /// A timer holds its entry's id twice (in its key and in the entry) and so does a retried entry's dead letter (its
    /// key and its value). The ingress keys a record by its id (at most 256 characters), so there the second copy only
    /// replaces the input's key; a record written around the ingress under another key has the id counted once in its
    /// 1,000,000 bytes, and the timer adds it again. A 16 KiB second copy, with the error text (at most 4,096 characters,
    /// about 12.3 KB in UTF-8) and the rest of the delivery state or dead-letter headers, leaves a timer or dead letter of
    /// the largest such record some 19 KB under <see cref="ProducerMaxMessageBytes"/>; an id of half a megabyte did not
    /// fit, and failed the stream thread on every restart.
    /// </remarks>
    public const int MaxIdBytes = 16_384;

    private const string MessageMaxBytes = "message.max.bytes";

    /// <summary><paramref name="error"/>, cut to <see cref="MaxErrorLength"/> characters with a note saying so.</summary>
    public static string BoundError(string error) =>
        error.Length <= MaxErrorLength ? error : string.Concat(error.AsSpan(0, MaxErrorLength), $"… ({error.Length - MaxErrorLength} more characters)");

    /// <summary>The producer settings with <c>message.max.bytes</c> at <see cref="ProducerMaxMessageBytes"/> unless they set it.</summary>
    public static IReadOnlyDictionary<string, string> WithProducerHeadroom(IReadOnlyDictionary<string, string> producerConfig)
    {
        if (producerConfig.ContainsKey(MessageMaxBytes))
        {
            return producerConfig;
        }

        return new Dictionary<string, string>(producerConfig) { [MessageMaxBytes] = ProducerMaxMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }
}
