using Confluent.Kafka;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// Turns the producer's report into a Trilean. The rule that matters: TRUE only from a delivery
/// report with status Persisted and no error; FALSE only when the record certainly is not in the
/// log; everything else is UNKNOWN, because a wrong FALSE would make a caller report a failure
/// (or skip a retry it needed) for a record that consumers will still see.
/// </summary>
/// <remarks>
/// <code>
/// what happened                                   | durable | why
/// ------------------------------------------------+---------+------------------------------------------
/// report: NoError, status Persisted               | TRUE    | the partition leader acked with acks=all
/// report: NoError, status Persisted, offset -1    | TRUE    | the broker answered DUPLICATE_SEQUENCE_NUMBER:
///                                                 |  (offset|   it holds this record from an earlier send,
///                                                 |   -1)   |   too old to tell the offset; said in message
/// Produce() threw (QueueFull, Local_MsgSizeTooLarge,| FALSE | the record never entered librdkafka's
///   UnknownTopic/Partition, handle fatal/closed)  |         |   queue, so nothing can send it later
/// report: Local_MsgTimedOut (any status)          | UNKNOWN | a timeout is no verdict: a request may
///                                                 |         |   have reached the leader just as it fired
/// report: status PossiblyPersisted (any error)    | UNKNOWN | librdkafka itself cannot tell (sent, no
///                                                 |         |   answer: connection lost, purge in flight)
/// report: status NotPersisted with a broker error | FALSE   | the broker refused the batch outright
///   (MSG_SIZE_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED,|       |   (non-retriable), or retries ran out on a
///   INVALID_RECORD, UNKNOWN_TOPIC_OR_PART, ...)   |         |   never-sent record; it is not in the log
/// report: status NotPersisted, local error        | FALSE   | e.g. purged from the queue before send
/// report: error but status Persisted (contradiction)| UNKNOWN | never claim TRUE next to an error
/// Produce() threw QueueFull                       | FALSE,  | librdkafka's queue.buffering.max.messages
///                                                 | shed    |   is a bound like MaxInFlightBytes, and
///                                                 |         |   small records meet it first: the call
///                                                 |         |   ends RESOURCE_EXHAUSTED, retry later
/// caller's deadline passed before the report      | UNKNOWN | the record is still in flight
/// </code>
/// </remarks>
public static class DurabilityClassifier
{
    public static ProduceOutcome FromReport<TKey, TValue>(DeliveryResult<TKey, TValue> result, Error error)
    {
        var code = error.Code;
        if (code == ErrorCode.NoError && result.Status == PersistenceStatus.Persisted)
        {
            var position = new LogPosition
            {
                Topic = result.Topic,
                Partition = result.Partition.Value,
                Offset = result.Offset.Value,
            };
            // librdkafka reports a broker's DUPLICATE_SEQUENCE_NUMBER as success with no offset: the
            // broker holds the record from an earlier send, too long ago to say where. Kafka's own
            // convention for that is offset -1; the message tells a human reading the answer why.
            if (position.Offset >= 0)
            {
                return ProduceOutcome.Persisted(position);
            }

            position.Offset = -1;
            return ProduceOutcome.PersistedAtUnknownOffset(
                position,
                "Kafka already held this record from an earlier send of it and did not say at which offset (position.offset is -1).");
        }

        if (code == ErrorCode.Local_MsgTimedOut)
        {
            return ProduceOutcome.Unknown($"Kafka did not acknowledge the record within the produce timeout ({Describe(error)}); it may or may not be durable.");
        }

        return result.Status switch
        {
            PersistenceStatus.NotPersisted when code != ErrorCode.NoError =>
                ProduceOutcome.NotWritten($"Kafka did not write the record: {Describe(error)}."),
            _ => ProduceOutcome.Unknown($"Kafka's answer leaves the record's fate open ({Describe(error)}, status {result.Status}); it may or may not be durable."),
        };
    }

    /// <summary>Produce() threw: the record was refused before it entered the producer's queue.</summary>
    public static ProduceOutcome FromRefusal(Error error) =>
        error.Code == ErrorCode.Local_QueueFull
            ? ProduceOutcome.Shed("The ingress's Kafka queue is full; the record was not written. Retry later.")
            : ProduceOutcome.NotWritten($"The record was not accepted for sending: {Describe(error)}.");

    private static string Describe(Error error) => $"{error.Code} ({(int)error.Code}): {error.Reason}";
}
