using System.Diagnostics;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// What a .NET service gets from the typed client: WalClient.OpenWriteStream against the same
/// ingress, from this process, so its CPU is the client's and the ingress's together. As many
/// streams as h2load's streaming shape; on each, writes go in batches of <see cref="Batch"/>, the
/// next queued before the last is awaited, so the window stays full, as for a producer that keeps
/// writing.
/// </summary>
internal static class ClientStreamDriver
{
    private const int Batch = 10_000;

    public static async Task<(double PerSecond, long Durable, long NotDurable, double CpuMicroseconds)> RunAsync(Uri address, WriteToLogRequest template, int streams, TimeSpan duration)
    {
        using var client = new WalClient(new WalClientOptions { Address = address });
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        var counts = await Task.WhenAll(Enumerable.Range(0, streams).Select(_ => StreamAsync(client, template, started, duration)));
        var elapsed = Stopwatch.GetElapsedTime(started);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var durable = counts.Sum(c => c.Durable);
        var notDurable = counts.Sum(c => c.NotDurable);
        return (durable / elapsed.TotalSeconds, durable, notDurable, cpu.TotalMicroseconds / Math.Max(1, durable + notDurable));
    }

    private static async Task<(long Durable, long NotDurable)> StreamAsync(WalClient client, WriteToLogRequest template, long started, TimeSpan duration)
    {
        // Each batch is counted as it is awaited, not kept: a run's answers would pile up in the
        // heap being measured.
        var batches = new Queue<Task<WriteToLogResponse[]>>();
        long durable = 0, answered = 0;
        void Count(WriteToLogResponse[] answers)
        {
            durable += answers.Count(a => a.Durable == Trilean.True);
            answered += answers.Length;
        }

        await using (var stream = client.OpenWriteStream())
        {
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                batches.Enqueue(Task.WhenAll(Enumerable.Range(0, Batch).Select(_ => stream.WriteAsync(template))));
                if (batches.Count == 2)
                {
                    Count(await batches.Dequeue());
                }
            }

            await stream.CompleteAsync();
            while (batches.Count > 0)
            {
                Count(await batches.Dequeue());
            }
        }

        return (durable, answered - durable);
    }
}
