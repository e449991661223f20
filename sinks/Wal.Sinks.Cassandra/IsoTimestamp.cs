using System.Globalization;
using System.Text.RegularExpressions;

namespace Wal.Sinks.Cassandra;

/// <summary>
/// Reads a timestamp written as ISO 8601 / RFC 3339: <c>yyyy-MM-dd</c>, or that date, <c>T</c> (or <c>t</c> or a
/// space, as RFC 3339 allows), <c>HH:mm[:ss[.fraction]]</c> and an optional offset (<c>Z</c>, <c>±hh</c>,
/// <c>±hhmm</c> or <c>±hh:mm</c>; none means UTC).
/// </summary>
/// <remarks>
/// Nothing else is read: a culture-aware parser also took "06/12/2026" as June 12 and a bare "13:00" as that time on
/// the day of delivery, so a redelivery on another day wrote another value. The fraction may have any number of
/// digits, as ISO 8601 allows: Java's <c>Instant.toString()</c> and Go's <c>RFC3339Nano</c> write nine, and a fixed
/// seven-digit pattern refused every such payload as permanent. Digits beyond a tick (100 ns) are dropped; the column
/// keeps milliseconds anyway.
/// </remarks>
internal static partial class IsoTimestamp
{
    private const int TickDigits = 7;

    public static DateTimeOffset Parse(string text)
    {
        var match = Shape().Match(text);
        if (!match.Success)
        {
            throw new FormatException("A timestamp string must be ISO 8601, such as 2026-11-22T01:00:00Z.");
        }

        var time = match.Groups["time"];
        var canonical = string.Concat(
            match.Groups["date"].Value,
            "T",
            time.Success ? time.Value : "00:00",
            ":",
            match.Groups["seconds"].Success ? match.Groups["seconds"].Value : "00",
            ".",
            Fraction(match.Groups["fraction"].Value),
            Offset(match.Groups["offset"].Value));
        return DateTimeOffset.ParseExact(canonical, "yyyy-MM-dd'T'HH:mm:ss.fffffffK", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
    }

    private static string Fraction(string digits) =>
        digits.Length >= TickDigits ? digits[..TickDigits] : digits.PadRight(TickDigits, '0');

    private static string Offset(string offset) => offset switch
    {
        "" => string.Empty,
        "Z" or "z" => "Z",
        { Length: 3 } => offset + ":00",
        { Length: 5 } => $"{offset[..3]}:{offset[3..]}",
        _ => offset,
    };

    // [0-9], not \d, which also matches other scripts' digits.
    [GeneratedRegex(
        "^(?<date>[0-9]{4}-[0-9]{2}-[0-9]{2})(?:[Tt ](?<time>[0-9]{2}:[0-9]{2})(?::(?<seconds>[0-9]{2})(?:\\.(?<fraction>[0-9]+))?)?(?<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$",
        RegexOptions.CultureInvariant)]
    private static partial Regex Shape();
}
