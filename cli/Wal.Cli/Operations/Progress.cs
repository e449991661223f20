using System.Diagnostics;
using System.Globalization;

namespace Wal.Cli.Operations;

/// <summary>
/// Progress of a long replay or redrive on stderr: one redrawn line on a terminal, a plain line
/// every few seconds otherwise (logs stay readable).
/// </summary>
internal sealed class Progress(Terminal terminal, string label)
{
    private static readonly long Interval = Stopwatch.Frequency / 5;
    private static readonly long PlainInterval = Stopwatch.Frequency * 5;
    private long _last = Stopwatch.GetTimestamp();

    /// <summary>How many records the run will read; set once known.</summary>
    public long Total { get; set; }

    public void Report(long read, long written, bool final = false)
    {
        var now = Stopwatch.GetTimestamp();
        var interactive = terminal.IsInteractive;
        if (!final && now - _last < (interactive ? Interval : PlainInterval))
        {
            return;
        }

        _last = now;
        var percent = Total == 0 ? 100 : read * 100 / Total;
        var line = string.Create(CultureInfo.InvariantCulture, $"{label}: {read}/{Total} read ({percent}%), {written} written");
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
