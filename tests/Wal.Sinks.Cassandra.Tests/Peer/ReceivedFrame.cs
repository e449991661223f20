using System.Text;
using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Tests.Peer;

/// <summary>A request frame the scripted peer received, with readers for the parts tests look at.</summary>
public sealed record ReceivedFrame(int Connection, CqlFrameHeader Header, byte[] Body)
{
    public CqlOpcode Opcode => Header.Opcode;

    /// <summary>The [long string] that starts QUERY and PREPARE bodies.</summary>
    public string Query
    {
        get
        {
            var reader = new CqlReader(Body);
            return reader.ReadLongString();
        }
    }

    /// <summary>The [bytes] token of AUTH_RESPONSE.</summary>
    public byte[]? Token
    {
        get
        {
            var reader = new CqlReader(Body);
            return reader.ReadBytes();
        }
    }

    /// <summary>An EXECUTE body: prepared id, consistency and positional values (null for a null value).</summary>
    public (byte[] Id, CqlConsistency Consistency, IReadOnlyList<byte[]?> Values) Execute
    {
        get
        {
            var reader = new CqlReader(Body);
            var id = reader.ReadShortBytes();
            var consistency = reader.ReadConsistency();
            var flags = reader.ReadByte();
            var values = new List<byte[]?>();
            if ((flags & 0x01) != 0)
            {
                var count = reader.ReadShort();
                for (var i = 0; i < count; i++)
                {
                    values.Add(reader.ReadBytes());
                }
            }

            return (id, consistency, values);
        }
    }

    public string ExecuteText(int value) => Encoding.UTF8.GetString(Execute.Values[value]!);

    public override string ToString() => $"#{Connection} stream {Header.Stream} {Opcode}";
}
