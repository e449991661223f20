using System.Diagnostics;
using System.Globalization;

namespace Wal.Cli.Operations;

/// <summary>
/// Progress of a long replay, redrive, status scan or mutation on stderr: one redrawn line on a
/// terminal, a plain line every few seconds otherwise (logs stay readable).
/// </summary>
/// <param name="terminal">Where to draw.</param>
/// <param name="label">What runs, e.g. "replay".</param>
/// <param name="unit">What is counted, e.g. "read".</param>
/// <param name="done">What the second count is, e.g. "written"; null shows one count.</param>
/// <param name="quietIfQuick">Print nothing at the end unless a line was printed on the way (for commands whose answer is on stdout anyway).</param>
internal sealed class Progress(Terminal terminal, string label, string unit = "read", string? done = "written", bool quietIfQuick = false)
{
    private static readonly long Interval = Stopwatch.Frequency / 5;
    private static readonly long PlainInterval = Stopwatch.Frequency * 5;
    private long _last = Stopwatch.GetTimestamp();
    private long _advanced;
    private bool _printed;

    /// <summary>How many items the run will handle; set once known.</summary>
    public long Total { get; set; }

    /// <summary>One more item handled, for runs with a single count.</summary>
    public void Advance() => Report(++_advanced, 0);

    /// <summary>The end of a run counted with <see cref="Advance"/>.</summary>
    public void Finish() => Report(_advanced, 0, final: true);

    public void Report(long read, long written, bool final = false)
    {
        var now = Stopwatch.GetTimestamp();
        var interactive = terminal.IsInteractive;
        if ((!final && now - _last < (interactive ? Interval : PlainInterval)) || (final && quietIfQuick && !_printed))
        {
            return;
        }

        _last = now;
        _printed = true;
        var percent = Total == 0 ? 100 : read * 100 / Total;
        var line = done is null
            ? string.Create(CultureInfo.InvariantCulture, $"{label}: {read}/{Total} {unit} ({percent}%)")
            : string.Create(CultureInfo.InvariantCulture, $"{label}: {read}/{Total} {unit} ({percent}%), {written} {done}");
        if (interactive)
        {
            terminal.Error.Write($"\r{line}   {(final ? Environment.NewLine : "")}");
        }
        else
        {
            terminal.Error.WriteLine(line);
        }
    }
}
