using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Wal.Topology.Dispatch;

/// <summary>Headers on a dead-letter record: why it is there and where it came from.</summary>
public static class DeadLetterHeaders
{
    public const string Error = "wal.error";
    public const string Attempts = "wal.attempts";
    public const string Namespace = "wal.namespace";
    public const string SourceTopic = "wal.source.topic";
    public const string SourcePartition = "wal.source.partition";
    public const string SourceOffset = "wal.source.offset";
    public const string FailedAtMs = "wal.failed.at.ms";

    /// <summary>"retriable" (attempts exhausted) or "permanent" (retrying could not help).</summary>
    public const string Reason = "wal.reason";

    /// <summary>
    /// Adds what every dead letter says of itself (dispatch's, the mutations', the replicators') to
    /// <paramref name="headers"/>, after any it carries from its input.
    /// </summary>
    public static Headers AddOwn(
        Headers headers, string error, string reason, long attempts, string @namespace, string sourceTopic, long sourcePartition, long sourceOffset, long failedAtMs)
    {
        ArgumentNullException.ThrowIfNull(headers);
        headers.Add(Error, Encoding.UTF8.GetBytes(error));
        headers.Add(Reason, Encoding.UTF8.GetBytes(reason));
        headers.Add(Attempts, Number(attempts));
        headers.Add(Namespace, Encoding.UTF8.GetBytes(@namespace));
        headers.Add(SourceTopic, Encoding.UTF8.GetBytes(sourceTopic));
        headers.Add(SourcePartition, Number(sourcePartition));
        headers.Add(SourceOffset, Number(sourceOffset));
        headers.Add(FailedAtMs, Number(failedAtMs));
        return headers;
    }

    /// <summary>
    /// Whether a dead letter sets <paramref name="key"/> itself, and so does not carry the input's: the headers every
    /// dead letter sets, and those of a mutation's (<c>wal.mutation.*</c>), which only a mutation's dead letter may
    /// have, since <c>wal dlq</c> reads a record that has them as a mutation's.
    /// </summary>
    public static bool IsSetByDeadLetter(string key) =>
        key is Error or Attempts or Namespace or SourceTopic or SourcePartition or SourceOffset or FailedAtMs or Reason ||
        key.StartsWith(MutationPrefix, StringComparison.Ordinal);

    /// <summary>What every header of a mutation's dead letter (<see cref="Mutations.MutationDeadLetterHeaders"/>) starts with.</summary>
    public const string MutationPrefix = "wal.mutation.";

    private static byte[] Number(long value) => Encoding.UTF8.GetBytes(value.ToString(CultureInfo.InvariantCulture));
}
