using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Wal.Cli.Operations;

namespace Wal.Cli.Tests.Operations;

public sealed class GroupMemberTests
{
    [Fact]
    public void DecodeAssignment_ConsumerProtocolBytes_ListsEveryTopicPartition()
    {
        var bytes = Assignment(("wal.demo", [0, 2]), ("wal.kv-mutations", [1]));

        var partitions = GroupMember.DecodeAssignment(bytes);

        Assert.Equal(
            [new TopicPartition("wal.demo", 0), new TopicPartition("wal.demo", 2), new TopicPartition("wal.kv-mutations", 1)],
            partitions);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(new byte[] { 0, 1 })]
    [InlineData(new byte[] { 0, 1, 0, 0, 0, 1, 0, 9, 0x41 })]
    public void DecodeAssignment_EmptyOrTruncated_YieldsWhatIsComplete(byte[]? bytes) =>
        Assert.Empty(GroupMember.DecodeAssignment(bytes));

    /// <summary>The Kafka consumer protocol's Assignment, written here from its spec.</summary>
    private static byte[] Assignment(params (string Topic, int[] Partitions)[] topics)
    {
        using var stream = new MemoryStream();
        void Int16(short v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); stream.Write(b); }
        void Int32(int v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); stream.Write(b); }
        Int16(1);
        Int32(topics.Length);
        foreach (var (topic, partitions) in topics)
        {
            Int16((short)Encoding.UTF8.GetByteCount(topic));
            stream.Write(Encoding.UTF8.GetBytes(topic));
            Int32(partitions.Length);
            foreach (var p in partitions)
            {
                Int32(p);
            }
        }

        Int32(-1); // no user data
        return stream.ToArray();
    }
}
