using System.Buffers.Binary;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// The gRPC-framed request bodies h2load sends, in temporary files: one write for a unary call,
/// <c>writesPerStream</c> writes (client ids 1..n) for a WriteToLogStream call, and the same two
/// addressed to the floor namespace, which answers without Kafka.
/// </summary>
internal sealed class RequestBodies : IDisposable
{
    public RequestBodies(WriteToLogRequest request, string floorNamespace, int writesPerStream)
    {
        Request = request.Clone();
        var floor = request.Clone();
        floor.Namespace = floorNamespace;
        Unary = Write(request, 1);
        Stream = Write(request, writesPerStream);
        FloorUnary = Write(floor, 1);
        FloorStream = Write(floor, writesPerStream);
    }

    /// <summary>The one write every body repeats, for drivers that send it themselves.</summary>
    public WriteToLogRequest Request { get; }

    public string Unary { get; }

    public string Stream { get; }

    public string FloorUnary { get; }

    public string FloorStream { get; }

    public void Dispose()
    {
        foreach (var file in new[] { Unary, Stream, FloorUnary, FloorStream })
        {
            File.Delete(file);
        }
    }

    private static string Write(WriteToLogRequest template, int count)
    {
        var path = Path.GetTempFileName();
        using var file = File.Create(path);
        var request = template.Clone();
        for (var i = 1; i <= count; i++)
        {
            if (count > 1)
            {
                request.ClientId = (ulong)i;
            }

            var size = request.CalculateSize();
            var frame = new byte[5 + size];
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)size);
            request.WriteTo(frame.AsSpan(5));
            file.Write(frame);
        }

        return path;
    }
}
