using System.Diagnostics;

namespace Wal.Tests;

/// <summary>
/// Waits for a condition with a deadline, polling, and fails naming what was awaited. Every test
/// project compiles this one file (tests/Directory.Build.props), so there is one such loop.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(20);

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan deadline, string what) =>
        WaitUntilAsync(() => Task.FromResult(condition()), deadline, () => what);

    public static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan deadline, string what, TimeSpan? poll = null) =>
        WaitUntilAsync(condition, deadline, () => what, poll);

    /// <param name="condition">Checked at once, then every <paramref name="poll"/> (20 ms unless given: a costly check may poll less often).</param>
    /// <param name="deadline">How long the condition may take to hold.</param>
    /// <param name="what">What was awaited, for the failure; asked only on failure.</param>
    /// <param name="poll">The interval between checks.</param>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan deadline, Func<string> what, TimeSpan? poll = null)
    {
        var until = Stopwatch.GetTimestamp() + (long)(deadline.TotalSeconds * Stopwatch.Frequency);
        while (!await condition())
        {
            if (Stopwatch.GetTimestamp() >= until)
            {
                throw new Xunit.Sdk.XunitException($"Timed out after {deadline} waiting for: {what()}");
            }

            await Task.Delay(poll ?? DefaultPoll);
        }
    }
}
