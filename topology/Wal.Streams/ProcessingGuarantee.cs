namespace Wal.Streams;

public enum ProcessingGuarantee
{
    /// <summary>Every record is processed at least once; a crash reprocesses what was not committed.</summary>
    AtLeastOnce,

    /// <summary>Outputs, changelog writes and input offsets commit in one Kafka transaction (Kafka Streams' exactly_once_v2).</summary>
    ExactlyOnce,
}
