using System.Buffers.Binary;
using Wal.Sinks.Cassandra.Messages;

namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>Turns a message into a whole frame: the 9-byte header followed by its body.</summary>
public static class CqlFrameCodec
{
    /// <summary>Encodes a request frame (version 0x04) on <paramref name="stream"/>.</summary>
    public static byte[] EncodeRequest(CqlRequest request, short stream, CqlFrameFlags flags = CqlFrameFlags.None) =>
        Encode(CqlFrameHeader.RequestVersion, flags, stream, request.Opcode, request.WriteBody);

    /// <summary>Rewrites the stream id of an encoded frame, so a request can be encoded before it has one.</summary>
    public static void SetStream(Span<byte> frame, short stream) => BinaryPrimitives.WriteInt16BigEndian(frame[2..], stream);

    /// <summary>Encodes any frame whose body <paramref name="writeBody"/> writes.</summary>
    public static byte[] Encode(byte version, CqlFrameFlags flags, short stream, CqlOpcode opcode, Action<CqlWriter> writeBody)
    {
        var writer = new CqlWriter();
        writer.Reserve(CqlFrameHeader.Size);
        writeBody(writer);
        if (writer.Length - CqlFrameHeader.Size > CqlFrameHeader.MaxBodyLength)
        {
            throw new CqlRequestTooLargeException($"A {opcode} body of {writer.Length - CqlFrameHeader.Size} bytes exceeds the {CqlFrameHeader.MaxBodyLength}-byte frame limit.");
        }

        var bytes = writer.ToArray();
        new CqlFrameHeader(version, flags, stream, opcode, bytes.Length - CqlFrameHeader.Size).WriteTo(bytes);
        return bytes;
    }
}
