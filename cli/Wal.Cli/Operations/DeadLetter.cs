using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Schemas.V1;
using Wal.Topology.Dispatch;
using Wal.Topology.Mutations;
using Wal.Topology.State;

namespace Wal.Cli.Operations;

/// <summary>
/// One record of a namespace's dead-letter topic, with its headers decoded: a plain entry (<see cref="Entry"/>), or a
/// multi-table mutation (<see cref="Mutation"/>, one <see cref="Part"/> of it when it was split).
/// </summary>
internal sealed record DeadLetter(
    int Partition,
    long Offset,
    string Id,
    string Reason,
    int Attempts,
    string Error,
    DateTimeOffset? FailedAt,
    string Source,
    LogEntry? Entry,
    DeadMutation? Mutation = null,
    string? Part = null,
    int ChunksStored = 0,
    Headers? Carried = null)
{
    public static DeadLetter From(ConsumeResult<byte[]?, byte[]?> record)
    {
        var headers = record.Message.Headers;
        var isMutation = Header(headers, MutationDeadLetterHeaders.RequestId) is not null;
        LogEntry? entry = null;
        DeadMutation? mutation = null;
        try
        {
            // A mutation's dead letter is a DeadMutation, which also parses as a LogEntry (wrongly): the header decides.
            if (record.Message.Value is { } value)
            {
                if (isMutation)
                {
                    mutation = DeadMutation.Parser.ParseFrom(value);
                }
                else
                {
                    entry = LogEntry.Parser.ParseFrom(value);
                }
            }
        }
        catch (InvalidProtocolBufferException)
        {
            // Shown as unreadable; redrive skips it rather than re-enqueue garbage.
        }

        // The value's id first: a dead letter made from a log record as it was read (a poison record, one a remote region
        // refused) carries the record's partition key (memcached/CLUSTER/KEY), which 'wal dlq show ID' and --filter id=
        // were never given. The key stands in only for a value that says nothing.
        var id = entry is { Id.Length: > 0 } ? entry.Id
            : mutation is { RequestId.Length: > 0 } ? mutation.RequestId
            : record.Message.Key is { } key ? Encoding.UTF8.GetString(key) : string.Empty;
        return new DeadLetter(
            record.Partition.Value,
            record.Offset.Value,
            id,
            Header(headers, DeadLetterHeaders.Reason) ?? "",
            Number(headers, DeadLetterHeaders.Attempts),
            Header(headers, DeadLetterHeaders.Error) ?? "",
            long.TryParse(Header(headers, DeadLetterHeaders.FailedAtMs), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            $"{Header(headers, DeadLetterHeaders.SourceTopic)}/{Header(headers, DeadLetterHeaders.SourcePartition)}@{Header(headers, DeadLetterHeaders.SourceOffset)}",
            entry,
            mutation,
            isMutation ? Header(headers, MutationDeadLetterHeaders.Part) ?? "1/1" : null,
            Number(headers, MutationDeadLetterHeaders.ChunksStored),
            CarriedFrom(headers));
    }

    /// <summary>
    /// This dead letter as a report names it (id, position, reason, error, the mutation's request id and part), without
    /// its entry, its mutation's chunks or its carried headers: a run keeps one for every dead letter it took, and the
    /// content of a DLQ that grew through an outage does not fit in memory.
    /// </summary>
    public DeadLetter WithoutContent() =>
        this with { Entry = null, Mutation = Mutation is null ? null : new DeadMutation { RequestId = Mutation.RequestId }, Carried = null };

    // The headers the entry's log record had, which its dead letter carries ahead of its own (CarriedHeaders): what a
    // redrive puts back with the entry, so that it returns to the log as it was. The dead letter's own headers, and
    // a replicator's word that a region refused it, are about the dead letter and stay with it.
    private static Headers CarriedFrom(Headers? headers)
    {
        var carried = CarriedHeaders.From(headers);
        carried.Remove(Wal.Topology.Replication.ReplicationHeaders.RefusedBy);
        return carried;
    }

    private static int Number(Headers? headers, string name) =>
        int.TryParse(Header(headers, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;

    private static string? Header(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
}
