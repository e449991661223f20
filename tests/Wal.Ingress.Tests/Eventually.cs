using System.Diagnostics;

namespace Wal.Ingress.Tests;

/// <summary>Waits for a condition with a deadline, polling, and fails with what was awaited.</summary>
public static class Eventually
{
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan deadline, string what)
    {
        var until = Stopwatch.GetTimestamp() + (long)(deadline.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            Assert.True(Stopwatch.GetTimestamp() < until, $"{what} within {deadline}");
            await Task.Delay(20);
        }
    }
}
