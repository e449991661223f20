using System.Buffers.Binary;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Wal.Schemas.V1;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// Kestrel with nothing of Wal in it: HTTP/2 on loopback, one terminal handler that reads the
/// request body to its end and answers every call with the same gRPC-framed WriteToLogResponse and
/// a grpc-status trailer. No routing, no gRPC layer, no parsing, no Kafka. Under the unary load its
/// rate is what any ingress on Kestrel could reach on this machine at best, so its ratio to the raw
/// producer says whether the unary target is within reach here at all.
/// </summary>
internal static class BareKestrel
{
    public static async Task<WebApplication> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var answer = Framed(new WriteToLogResponse { Durable = Trilean.True, Id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" });
        app.Run(async http =>
        {
            await DrainAsync(http.Request.BodyReader, http.RequestAborted);
            http.Response.ContentType = "application/grpc";
            await http.Response.Body.WriteAsync(answer, http.RequestAborted);
            http.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync(cancellationToken);
        return app;
    }

    private static async Task DrainAsync(System.IO.Pipelines.PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            body.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return;
            }
        }
    }

    private static byte[] Framed(WriteToLogResponse message)
    {
        var bytes = new byte[5 + message.CalculateSize()];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)(bytes.Length - 5));
        message.WriteTo(bytes.AsSpan(5));
        return bytes;
    }
}
