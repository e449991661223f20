using System.Text;

namespace Wal.Grpc;

/// <summary>
/// The percent-encoding of <c>grpc-message</c>: UTF-8 bytes outside printable ASCII, and '%'
/// itself, become <c>%XX</c>, so any text survives HTTP/2 header rules.
/// </summary>
public static class GrpcMessageText
{
    /// <summary>
    /// The longest status message sent. Messages quote the caller's input (a URL, a name), and trailers pass through
    /// clients' header limits (64 KiB in .NET, less in others): a status a client cannot read turns a clear refusal into
    /// a transport error, which a careful client must take as UNKNOWN.
    /// </summary>
    public const int MaxMessageLength = 1024;

    /// <summary><paramref name="text"/>, cut to at most <paramref name="max"/> characters with a note saying so.</summary>
    public static string Bound(string text, int max = MaxMessageLength) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"… ({text.Length - max} more characters)");

    public static string Encode(string text)
    {
        if (!NeedsEncoding(text))
        {
            return text;
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2"));
            }
        }

        return builder.ToString();
    }

    public static string Decode(string encoded)
    {
        if (!encoded.Contains('%', StringComparison.Ordinal))
        {
            return encoded;
        }

        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] == '%' && i + 2 < encoded.Length
                && byte.TryParse(encoded.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.Add((byte)encoded[i]);
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static bool NeedsEncoding(string text)
    {
        foreach (var c in text)
        {
            if (c is < ' ' or > '~' or '%')
            {
                return true;
            }
        }

        return false;
    }
}
