using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>
/// One gRPC-framed WriteToLogRequest whose large payload is a buffer shared by every request, so a
/// flood of thousands of concurrent calls costs the client almost nothing and the memory measured
/// in the process is the server's. Concatenated protobuf messages merge, so the frame is the
/// request's own fields followed by the shared, pre-serialized payload field.
/// </summary>
public sealed class SharedPayloadContent : HttpContent
{
    private readonly byte[] _head;
    private readonly byte[] _payloadField;

    public SharedPayloadContent(WriteToLogRequest withoutPayload, byte[] payloadField)
    {
        var fields = withoutPayload.ToByteArray();
        _head = new byte[5 + fields.Length];
        BinaryPrimitives.WriteUInt32BigEndian(_head.AsSpan(1), (uint)(fields.Length + payloadField.Length));
        fields.CopyTo(_head.AsSpan(5));
        _payloadField = payloadField;
        Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
    }

    /// <summary>When the last byte was handed to the connection (<see cref="Stopwatch.GetTimestamp"/>); 0 until then.</summary>
    public long SentAt { get; private set; }

    /// <summary>The payload field (field 3, bytes) serialized once, for sharing.</summary>
    public static byte[] PayloadField(int bytes) => new WriteToLogRequest { Payload = ByteString.CopyFrom(new byte[bytes]) }.ToByteArray();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await stream.WriteAsync(_head);
        await stream.WriteAsync(_payloadField);
        await stream.FlushAsync();
        SentAt = Stopwatch.GetTimestamp();
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _head.Length + _payloadField.Length;
        return true;
    }
}
