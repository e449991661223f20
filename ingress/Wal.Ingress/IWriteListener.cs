namespace Wal.Ingress;

/// <summary>
/// Takes the answers of writes started with <see cref="LogWriter.Start"/>. Called once per write,
/// on whichever thread has the answer (often librdkafka's delivery thread), so it must be quick and
/// must not block: a stream queues its acknowledgement and returns.
/// </summary>
public interface IWriteListener
{
    void OnAnswered(ulong clientId, WriteResult result);
}
