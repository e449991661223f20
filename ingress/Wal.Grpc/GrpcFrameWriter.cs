using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Wal.Grpc;

/// <summary>Writes length-prefixed gRPC messages into a response pipe's pooled memory.</summary>
internal static class GrpcFrameWriter
{
    /// <summary>Writes one framed message; returns the frame's size, header included.</summary>
    public static int Write(PipeWriter writer, IMessage message)
    {
        var size = message.CalculateSize();
        var frameSize = GrpcProtocol.FrameHeaderSize + size;
        var span = writer.GetSpan(frameSize)[..frameSize];
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span[GrpcProtocol.FrameHeaderSize..]);
        writer.Advance(frameSize);
        return frameSize;
    }
}
