using System.Diagnostics.Metrics;
using System.Text;

namespace Wal.Prometheus;

/// <summary>Prometheus naming: metric names with unit suffixes, and escaped label sets.</summary>
internal static class PrometheusNames
{
    public static string For(Instrument instrument)
    {
        var name = Sanitize(instrument.Name);
        var suffix = instrument.Unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => string.Empty,
        };
        if (suffix.Length > 0 && !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        return IsCounter(instrument) && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    /// <summary>Whether the instrument is exported as a counter family (its samples carry <c>_total</c>).</summary>
    public static bool IsCounter(Instrument instrument) =>
        instrument is Counter<int> or Counter<long> or Counter<double> or ObservableCounter<int> or ObservableCounter<long> or ObservableCounter<double>;

    /// <summary>Tags as <c>a="x",b="y"</c>, sorted by name so one tag set always maps to one series.</summary>
    public static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return string.Empty;
        }

        var sorted = tags.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder();
        foreach (var (key, value) in sorted)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(Sanitize(key, allowColon: false)).Append("=\"");
            EscapeLabelValue(text, value?.ToString() ?? string.Empty);
            text.Append('"');
        }

        return text.ToString();
    }

    public static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static void EscapeLabelValue(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => text.Append("\\\\"),
                '"' => text.Append("\\\""),
                '\n' => text.Append("\\n"),
                _ => text.Append(c),
            };
        }
    }

    // Metric names may hold ':' ([a-zA-Z_:][a-zA-Z0-9_:]*); label names may not ([a-zA-Z_][a-zA-Z0-9_]*), and one
    // there makes Prometheus reject the whole scrape.
    private static string Sanitize(string name, bool allowColon = true)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var ok = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            chars[i] = ok && !(i == 0 && char.IsAsciiDigit(c)) ? c : '_';
        }

        return new string(chars);
    }
}
