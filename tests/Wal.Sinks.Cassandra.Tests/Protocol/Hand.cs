using System.Globalization;
using System.Text;

namespace Wal.Sinks.Cassandra.Tests.Protocol;

/// <summary>Builds expected frames from hand-written hex groups and ASCII text, so fixtures read like the spec.</summary>
internal static class Hand
{
    /// <summary>Concatenates parts: a string starting with "x:" is hex ("x:04 00 01"), any other string is its ASCII bytes.</summary>
    public static byte[] Frame(params string[] parts)
    {
        var bytes = new List<byte>();
        foreach (var part in parts)
        {
            if (part.StartsWith("x:", StringComparison.Ordinal))
            {
                foreach (var pair in part[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    bytes.Add(byte.Parse(pair, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
            else
            {
                bytes.AddRange(Encoding.ASCII.GetBytes(part));
            }
        }

        return [.. bytes];
    }
}
