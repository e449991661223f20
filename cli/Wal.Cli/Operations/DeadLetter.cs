using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Schemas.V1;
using Wal.Topology.Dispatch;

namespace Wal.Cli.Operations;

/// <summary>One record of a namespace's dead-letter topic, with its headers decoded.</summary>
internal sealed record DeadLetter(
    int Partition,
    long Offset,
    string Id,
    string Reason,
    int Attempts,
    string Error,
    DateTimeOffset? FailedAt,
    string Source,
    LogEntry? Entry)
{
    public static DeadLetter From(ConsumeResult<byte[]?, byte[]?> record)
    {
        var headers = record.Message.Headers;
        LogEntry? entry = null;
        try
        {
            entry = record.Message.Value is { } value ? LogEntry.Parser.ParseFrom(value) : null;
        }
        catch (InvalidProtocolBufferException)
        {
            // Shown as unreadable; redrive skips it rather than re-enqueue garbage.
        }

        var id = record.Message.Key is { } key ? Encoding.UTF8.GetString(key) : entry?.Id ?? string.Empty;
        return new DeadLetter(
            record.Partition.Value,
            record.Offset.Value,
            id,
            Header(headers, DeadLetterHeaders.Reason) ?? "",
            int.TryParse(Header(headers, DeadLetterHeaders.Attempts), NumberStyles.Integer, CultureInfo.InvariantCulture, out var attempts) ? attempts : 0,
            Header(headers, DeadLetterHeaders.Error) ?? "",
            long.TryParse(Header(headers, DeadLetterHeaders.FailedAtMs), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            $"{Header(headers, DeadLetterHeaders.SourceTopic)}/{Header(headers, DeadLetterHeaders.SourcePartition)}@{Header(headers, DeadLetterHeaders.SourceOffset)}",
            entry);
    }

    private static string? Header(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
}
