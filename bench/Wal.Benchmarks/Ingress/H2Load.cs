using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Wal.Benchmarks.Ingress;

/// <summary>
/// Runs h2load (Debian's nghttp2-client) against a gRPC method: the same gRPC-framed body (one
/// message for a unary call, many for a stream) on every request, for a fixed duration or a fixed
/// number of requests, optionally paced (<c>--rps</c> per client, connections a millisecond apart)
/// and logging each request's time.
/// h2load sees HTTP statuses only, never grpc-status.
/// </summary>
internal static partial class H2Load
{
    public const string Path = "/usr/bin/h2load";

    public static Task<H2LoadResult> RunAsync(Uri uri, string bodyFile, H2LoadShape shape, TimeSpan duration, int? ratePerClient, string? logFile, CancellationToken cancellationToken) =>
        RunAsync(uri, bodyFile, shape, ratePerClient is { } rate ? Paced(shape, rate, duration) : ["-D", Number((int)Math.Ceiling(duration.TotalSeconds))], logFile, cancellationToken);

    /// <summary>
    /// h2load's <c>--rps</c> timer ticks every 10 ms at most and sends a tick's requests at once;
    /// with every connection opened together, their ticks coincide, and 20k/s arrived as bursts
    /// of 200 every 10 ms: the latencies then measured the burst's queue (a 3 ms p50 for calls
    /// answered without Kafka). Opening the connections a millisecond apart (<c>-r 1</c>) spreads
    /// the ticks over the period, so the requests arrive about every millisecond, as the raw
    /// producer's paced loop sends them. Rate mode takes a request count instead of a duration.
    /// </summary>
    private static string[] Paced(H2LoadShape shape, int ratePerClient, TimeSpan duration) =>
    [
        "-n", Number((int)(ratePerClient * shape.Clients * duration.TotalSeconds)),
        "-r", "1",
        "--rate-period=1ms",
        $"--rps={Number(ratePerClient)}",
    ];

    /// <summary>
    /// Exactly <paramref name="requests"/> requests, each run to its end: no request is cut off when
    /// time runs out, which matters when one request carries thousands of writes.
    /// </summary>
    public static Task<H2LoadResult> RunCountAsync(Uri uri, string bodyFile, H2LoadShape shape, int requests, CancellationToken cancellationToken) =>
        RunAsync(uri, bodyFile, shape, ["-n", Number(requests)], null, cancellationToken);

    private static async Task<H2LoadResult> RunAsync(Uri uri, string bodyFile, H2LoadShape shape, string[] length, string? logFile, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException($"{Path} is missing: apt-get install nghttp2-client");
        }

        var start = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in Arguments(uri, bodyFile, shape, length, logFile))
        {
            start.ArgumentList.Add(argument);
        }

        var childCpuBefore = ReapedChildrenCpu();
        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("h2load did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var h2loadCpu = ReapedChildrenCpu() - childCpuBefore;
        var text = await stdout + await stderr;
        return (process.ExitCode == 0 ? Parse(text, elapsed, h2loadCpu, logFile is null ? [] : ReadLatencies(logFile)) : null)
            ?? throw new InvalidOperationException($"h2load failed (exit {process.ExitCode}):\n{text}");
    }

    /// <summary>
    /// The counts in h2load's summary; null when it printed none. Only <c>failed</c> counts the failed requests:
    /// <c>errored</c> is the part of them that failed below HTTP, and <c>timeout</c> the part of those that timed out.
    /// </summary>
    public static H2LoadResult? Parse(string output, TimeSpan elapsed, TimeSpan processorTime, double[] latenciesMs)
    {
        var counts = Requests().Match(output);
        if (!counts.Success)
        {
            return null;
        }

        var twoXx = StatusCodes().Match(output);
        return new H2LoadResult(
            Count(counts, "succeeded"),
            Count(counts, "failed"),
            twoXx.Success ? Count(twoXx, "ok") : 0,
            elapsed,
            processorTime,
            latenciesMs,
            output);
    }

    private static IEnumerable<string> Arguments(Uri uri, string bodyFile, H2LoadShape shape, string[] length, string? logFile)
    {
        yield return "-c";
        yield return Number(shape.Clients);
        yield return "-m";
        yield return Number(shape.StreamsPerClient);
        yield return "-t";
        yield return Number(shape.Threads);
        foreach (var argument in length)
        {
            yield return argument;
        }

        yield return "-d";
        yield return bodyFile;
        yield return "-H";
        yield return "content-type: application/grpc";
        yield return "-H";
        yield return "te: trailers";
        if (logFile is not null)
        {
            yield return $"--log-file={logFile}";
        }

        yield return uri.ToString();
    }

    /// <summary>Each request's time from its start to the end of its response, in milliseconds (the log's third column is microseconds).</summary>
    private static double[] ReadLatencies(string logFile) =>
    [
        .. File.ReadLines(logFile)
            .Select(line => line.Split('\t'))
            .Where(columns => columns.Length >= 3 && columns[1] == "200")
            .Select(columns => long.Parse(columns[2], CultureInfo.InvariantCulture) / 1000.0),
    ];

    /// <summary>
    /// CPU time of this process's children that have ended and been waited for (cutime + cstime in
    /// /proc/self/stat, in clock ticks of 10 ms). h2load is the only child that ends while a phase
    /// runs, so the delta across one run is its CPU time.
    /// </summary>
    private static TimeSpan ReapedChildrenCpu()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        // Fields after the command name, which is in parentheses and may hold spaces.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static long Count(Match match, string group) => long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, \d+ errored, \d+ timeout")]
    private static partial Regex Requests();

    [GeneratedRegex(@"status codes: (?<ok>\d+) 2xx")]
    private static partial Regex StatusCodes();
}
