using Confluent.Kafka;

namespace Wal.Ingress;

/// <summary>
/// Whoever waits for one record's answer from Kafka: <see cref="OnReport"/> is librdkafka's
/// delivery report, <see cref="Answer"/> the same answer when the record never reached librdkafka.
/// Exactly one of the two is called, once, on whichever thread has the answer.
/// </summary>
public interface IProduceReport
{
    void OnReport(DeliveryReport<byte[], byte[]> report);

    void Answer(ProduceOutcome outcome);
}
