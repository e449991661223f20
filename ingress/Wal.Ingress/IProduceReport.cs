using Confluent.Kafka;

namespace Wal.Ingress;

/// <summary>
/// Whoever waits for one record's answer from Kafka. <see cref="Answer"/> is called exactly once, on
/// whichever thread has the answer: through <see cref="OnReport"/>, which classifies librdkafka's
/// delivery report, or directly when the record never reached librdkafka. It must answer its caller
/// even when its own bookkeeping (giving back room, counting) throws, and may throw after that: the
/// producer logs the exception and does not answer again.
/// </summary>
public interface IProduceReport
{
    void OnReport(DeliveryReport<byte[], byte[]> report) => Answer(DurabilityClassifier.FromReport(report, report.Error));

    void Answer(ProduceOutcome outcome);
}
