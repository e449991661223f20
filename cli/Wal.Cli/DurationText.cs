using System.Globalization;

namespace Wal.Cli;

/// <summary>Durations as people type them: 250ms, 5s, 10m, 2h, 7d.</summary>
internal static class DurationText
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        var units = new (string Suffix, double Milliseconds)[] { ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000) };
        foreach (var (suffix, milliseconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text.AsSpan(0, text.Length - suffix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && value >= 0 && double.IsFinite(value)
                // Past what a TimeSpan holds FromMilliseconds throws, and a parser that throws crashes the command line.
                && value * milliseconds < TimeSpan.MaxValue.TotalMilliseconds)
            {
                duration = TimeSpan.FromMilliseconds(value * milliseconds);
                return true;
            }
        }

        return false;
    }

    public static TimeSpan Parse(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (TryParse(text, out var duration))
        {
            return duration;
        }

        result.AddError($"'{text}' is not a duration: use a number with ms, s, m, h or d, e.g. 250ms or 5s.");
        return default;
    }
}
