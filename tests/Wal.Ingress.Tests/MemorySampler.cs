using System.Diagnostics;

namespace Wal.Ingress.Tests;

/// <summary>
/// Samples this process's live managed heap (after a full collection, so garbage not yet collected
/// does not count) and its working set (managed plus native: librdkafka's queues, Kestrel's pools)
/// until stopped, and keeps the peaks above the baseline taken at start.
/// </summary>
public sealed class MemorySampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private MemorySampler(TimeSpan interval)
    {
        BaselineLiveBytes = GC.GetTotalMemory(forceFullCollection: true);
        BaselineWorkingSet = WorkingSet();
        _loop = SampleAsync(interval, _stop.Token);
    }

    public long BaselineLiveBytes { get; }

    public long BaselineWorkingSet { get; }

    public long PeakLiveBytes { get; private set; }

    public long PeakWorkingSet { get; private set; }

    public int Samples { get; private set; }

    public long LiveGrowth => PeakLiveBytes - BaselineLiveBytes;

    public long WorkingSetGrowth => PeakWorkingSet - BaselineWorkingSet;

    public static MemorySampler Start(TimeSpan interval) => new(interval);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private async Task SampleAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        PeakLiveBytes = BaselineLiveBytes;
        PeakWorkingSet = BaselineWorkingSet;
        while (!cancellationToken.IsCancellationRequested)
        {
            PeakLiveBytes = Math.Max(PeakLiveBytes, GC.GetTotalMemory(forceFullCollection: true));
            PeakWorkingSet = Math.Max(PeakWorkingSet, WorkingSet());
            Samples++;
            try
            {
                await Task.Delay(interval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
