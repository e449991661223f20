using Confluent.Kafka;

namespace Wal.Sinks.Kafka;

/// <summary>Tells a produce error that a later attempt may get past from one it never will.</summary>
internal static class KafkaErrorClassifier
{
    /// <summary>
    /// True when producing the same record again, to the same topic, cannot succeed: it is too
    /// large, the topic name is invalid, or we are not allowed to write. Everything else
    /// (timeouts, leader changes, brokers down, a fenced or fatally failed producer, which the
    /// sink replaces) is worth a retry. CORRUPT_MESSAGE (<see cref="ErrorCode.InvalidMsg"/>) is among those: it is a
    /// CRC mismatch on the wire, which Kafka marks retriable; a record the broker refuses for good (a null key on a
    /// compacted topic) answers INVALID_RECORD on current brokers and is dead-lettered after the retries anyway.
    /// An unknown topic (<see cref="ErrorCode.Local_UnknownTopic"/>) is retriable too: librdkafka fails the queued
    /// records of a topic it knew as soon as one metadata answer lacks it, which a broker with lagging metadata gives
    /// during a failover; a topic that really is missing is dead-lettered after the retries, or found once created.
    /// So is <see cref="ErrorCode.ClusterAuthorizationFailed"/>: to the sink's idempotent producer it refuses the
    /// producer (its producer id, the IdempotentWrite permission), not the record, and librdkafka makes it fatal; the
    /// record that met it can be reported before the error handler flags the producer, and was dead-lettered although
    /// the new producer that serves the retry could write it. A cluster that really denies is dead-lettered after the retries.
    /// </summary>
    public static bool IsPermanent(Error error) => error.Code switch
    {
        ErrorCode.MsgSizeTooLarge
            or ErrorCode.RecordListTooLarge
            or ErrorCode.TopicException
            or ErrorCode.InvalidRequiredAcks
            or ErrorCode.UnsupportedForMessageFormat
            or ErrorCode.TopicAuthorizationFailed
            or ErrorCode.TransactionalIdAuthorizationFailed
            or ErrorCode.SaslAuthenticationFailed
            or ErrorCode.Local_Authentication
            or ErrorCode.Local_InvalidArg
            or ErrorCode.Local_BadMsg => true,
        _ => false,
    };
}
