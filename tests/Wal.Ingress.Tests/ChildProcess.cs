using System.Diagnostics;

namespace Wal.Ingress.Tests;

/// <summary>Runs a program the tests drive (h2load, python3, promtool) to its end, or kills it at the deadline.</summary>
public static class ChildProcess
{
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(ProcessStartInfo start, TimeSpan deadline, string? input = null)
    {
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // A hung child must not outlive the test, holding ports or the machine's CPU.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {deadline}; killed it. Output so far: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
