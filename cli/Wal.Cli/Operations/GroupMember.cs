using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;

namespace Wal.Cli.Operations;

/// <summary>One instance in a consumer group: who it is and the partitions it was assigned.</summary>
internal sealed record GroupMember(string MemberId, string ClientId, string Host, IReadOnlyList<TopicPartition> Partitions)
{
    /// <summary>
    /// The group's members through DescribeGroups (Confluent.Kafka 1.9.3's <c>ListGroup</c>; its
    /// DescribeConsumerGroups came in 2.x). Null with <paramref name="unavailable"/> set when the
    /// cluster cannot say: librdkafka's mock cluster (what <c>wal up</c> runs) has no DescribeGroups.
    /// </summary>
    public static IReadOnlyList<GroupMember>? Describe(string bootstrapServers, string group, out string? unavailable)
    {
        unavailable = null;
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        GroupInfo? info;
        try
        {
            info = admin.ListGroup(group, TimeSpan.FromSeconds(10));
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_UnsupportedFeature)
        {
            unavailable = "this Kafka cluster does not answer DescribeGroups (the embedded mock cluster of wal up does not)";
            return null;
        }

        if (info is null || info.Error.IsError)
        {
            unavailable = info is null ? $"group '{group}' was not found" : $"DescribeGroups failed: {info.Error.Reason}";
            return null;
        }

        return [.. info.Members.Select(m => new GroupMember(m.MemberId, m.ClientId, m.ClientHost, DecodeAssignment(m.MemberAssignment)))];
    }

    /// <summary>
    /// Decodes a member's assignment as the Kafka consumer protocol writes it: int16 version, then
    /// an array (int32 count) of topic (int16 length + UTF-8 name) with its partitions (int32 count
    /// + int32 each), then user data. Anything else (another protocol, empty) yields no partitions.
    /// </summary>
    public static IReadOnlyList<TopicPartition> DecodeAssignment(byte[]? assignment)
    {
        var partitions = new List<TopicPartition>();
        if (assignment is null || assignment.Length < 6)
        {
            return partitions;
        }

        var span = assignment.AsSpan(2);
        var topics = BinaryPrimitives.ReadInt32BigEndian(span);
        span = span[4..];
        for (var t = 0; t < topics && span.Length >= 2; t++)
        {
            var nameLength = BinaryPrimitives.ReadInt16BigEndian(span);
            if (nameLength < 0 || span.Length < 2 + nameLength + 4)
            {
                break;
            }

            var topic = Encoding.UTF8.GetString(span.Slice(2, nameLength));
            span = span[(2 + nameLength)..];
            var count = BinaryPrimitives.ReadInt32BigEndian(span);
            span = span[4..];
            for (var p = 0; p < count && span.Length >= 4; p++)
            {
                partitions.Add(new TopicPartition(topic, BinaryPrimitives.ReadInt32BigEndian(span)));
                span = span[4..];
            }
        }

        return partitions;
    }
}
