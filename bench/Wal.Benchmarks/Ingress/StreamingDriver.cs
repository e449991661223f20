using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Wal.Schemas.V1;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// WriteToLogStream from a minimal duplex gRPC client on HttpClient: each stream keeps up to
/// <c>window</c> requests unacknowledged, writing them in batches as acknowledgements free room,
/// and counts the acknowledgements that say durable TRUE.
/// </summary>
internal static class StreamingDriver
{
    private const string Path = "/wal.v1.WriteAheadLog/WriteToLogStream";
    private const int MaxBatch = 64;

    public static async Task<ThroughputSample> RunAsync(
        Uri address, WriteToLogRequest template, int connections, int streamsPerConnection, int window, TimeSpan duration, TopicWatermarks watermarks, CancellationToken cancellationToken)
    {
        // One HttpClient per connection: a single handler would multiplex every stream on one socket.
        var clients = Enumerable.Range(0, connections)
            .Select(_ => new HttpClient(new SocketsHttpHandler(), disposeHandler: true) { BaseAddress = address, Timeout = Timeout.InfiniteTimeSpan })
            .ToArray();
        try
        {
            var before = watermarks.Total();
            var started = Stopwatch.GetTimestamp();
            var until = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var streams = await Task.WhenAll(clients.SelectMany(client => Enumerable.Range(0, streamsPerConnection)
                .Select(_ => RunStreamAsync(client, template.Clone(), window, until, cancellationToken))));
            var elapsed = Stopwatch.GetElapsedTime(started);
            return new ThroughputSample(streams.Sum(s => s.Durable), watermarks.Total() - before, streams.Sum(s => s.NotDurable), elapsed);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static async Task<(long Durable, long NotDurable)> RunStreamAsync(HttpClient http, WriteToLogRequest request, int window, long until, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(window, window);
        using var message = new HttpRequestMessage(HttpMethod.Post, Path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StreamingRequestContent((body, token) => WriteRequestsAsync(body, request, slots, until, token)),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        var reader = PipeReader.Create(await response.Content.ReadAsStreamAsync(cancellationToken));
        long durable = 0;
        long notDurable = 0;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            var acks = 0;
            while (TryReadFrame(ref buffer, out var frame))
            {
                var ack = WriteToLogAck.Parser.ParseFrom(frame);
                if (ack.Response.Durable == Trilean.True)
                {
                    durable++;
                }
                else
                {
                    notDurable++;
                }

                acks++;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (acks > 0)
            {
                slots.Release(acks);
            }

            if (read.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? values.FirstOrDefault() : null;
        return status == "0" ? (durable, notDurable) : throw new InvalidOperationException($"WriteToLogStream ended with grpc-status {status ?? "(none)"}");
    }

    private static async Task WriteRequestsAsync(Stream body, WriteToLogRequest request, SemaphoreSlim slots, long until, CancellationToken cancellationToken)
    {
        request.ClientId = ulong.MaxValue;
        var buffer = new byte[MaxBatch * (5 + request.CalculateSize())];
        ulong next = 0;
        while (Stopwatch.GetTimestamp() < until)
        {
            await slots.WaitAsync(cancellationToken);
            var count = 1;
            while (count < MaxBatch && slots.Wait(0, cancellationToken))
            {
                count++;
            }

            var used = 0;
            for (var i = 0; i < count; i++)
            {
                request.ClientId = ++next;
                var size = request.CalculateSize();
                buffer[used] = 0;
                BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(used + 1), (uint)size);
                request.WriteTo(buffer.AsSpan(used + 5, size));
                used += 5 + size;
            }

            await body.WriteAsync(buffer.AsMemory(0, used), cancellationToken);
            await body.FlushAsync(cancellationToken);
        }
    }

    private static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < 5)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (buffer.Length < 5 + length)
        {
            return false;
        }

        frame = buffer.Slice(5, length);
        buffer = buffer.Slice(5 + length);
        return true;
    }
}
