using System.Buffers;
using System.Buffers.Binary;
using Confluent.Kafka;
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
/// Given a producer, each call first produces the request's message bytes to a topic (a fresh
/// UUID key, as the ingress spreads writes by id) and answers once its delivery report arrives:
/// Kestrel plus one produce per call and nothing else, the least any ingress on Kestrel that
/// answers a unary call durably must do.
/// </summary>
internal static class BareKestrel
{
    public static async Task<WebApplication> StartAsync(IProducer<byte[], byte[]>? producer, string topic, CancellationToken cancellationToken)
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
            var message = await ReadToEndAsync(http.Request.BodyReader, http.RequestAborted);
            if (producer is not null)
            {
                await ProduceAsync(producer, topic, message);
            }

            http.Response.ContentType = "application/grpc";
            await http.Response.Body.WriteAsync(answer, http.RequestAborted);
            http.Response.AppendTrailer("grpc-status", "0");
        });
        await app.StartAsync(cancellationToken);
        return app;
    }

    // The request's bytes after the 5-byte gRPC prefix: what a produce would carry.
    private static async Task<byte[]> ReadToEndAsync(System.IO.Pipelines.PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            if (read.IsCompleted)
            {
                var message = read.Buffer.Length > 5 ? read.Buffer.Slice(5).ToArray() : [];
                body.AdvanceTo(read.Buffer.End);
                return message;
            }

            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static Task ProduceAsync(IProducer<byte[], byte[]> producer, string topic, byte[] message)
    {
        // Continuations off librdkafka's delivery thread, as the ingress's PendingProduce does.
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(topic, new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(Guid.NewGuid().ToString()), Value = message }, report =>
        {
            if (report.Status == PersistenceStatus.Persisted && !report.Error.IsError)
            {
                answered.TrySetResult();
            }
            else
            {
                answered.TrySetException(new InvalidOperationException($"bare Kestrel's produce failed: {report.Error.Reason}"));
            }
        });
        return answered.Task;
    }

    private static byte[] Framed(WriteToLogResponse message)
    {
        var bytes = new byte[5 + message.CalculateSize()];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)(bytes.Length - 5));
        message.WriteTo(bytes.AsSpan(5));
        return bytes;
    }
}
