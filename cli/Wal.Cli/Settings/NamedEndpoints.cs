namespace Wal.Cli.Settings;

/// <summary>
/// Parses "name=value,name=value" lists such as <c>local=127.0.0.1:11211</c> (memcached clusters;
/// several servers of one cluster are separated by ';') or <c>a=kafka-a:9092,b=kafka-b:9092</c> (regions).
/// </summary>
internal static class NamedEndpoints
{
    /// <exception cref="FormatException">An entry is not name=value; the message quotes it.</exception>
    public static IReadOnlyDictionary<string, string> Parse(string? text, string what)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return result;
        }

        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == entry.Length - 1)
            {
                throw new FormatException($"{what}: '{entry}' is not name=value (e.g. local=127.0.0.1:11211).");
            }

            if (!result.TryAdd(entry[..equals], entry[(equals + 1)..]))
            {
                throw new FormatException($"{what}: '{entry[..equals]}' is given twice.");
            }
        }

        return result;
    }
}
