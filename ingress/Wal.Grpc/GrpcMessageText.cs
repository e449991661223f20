using System.Text;

namespace Wal.Grpc;

/// <summary>
/// The percent-encoding of <c>grpc-message</c>: UTF-8 bytes outside printable ASCII, and '%'
/// itself, become <c>%XX</c>, so any text survives HTTP/2 header rules.
/// </summary>
public static class GrpcMessageText
{
    /// <summary>
    /// The most UTF-8 bytes of a status message sent. Messages quote the caller's input (a URL, a name), and the
    /// ingress sends the text three times in the trailers: percent-encoded in <c>grpc-message</c> (up to 3 characters a
    /// byte), and twice in <c>grpc-status-details-bin</c> (base64). grpc-core clients (Python, C++, Ruby) refuse a
    /// header block over 8 KiB, and a status a client cannot read turns a clear refusal into RESOURCE_EXHAUSTED or a
    /// transport error. Counted in characters, 1,024 CJK characters made 9 KiB of <c>grpc-message</c> alone.
    /// </summary>
    public const int MaxMessageBytes = 1024;

    // "… (" + up to 10 digits + " more characters)", in UTF-8 bytes.
    private const int NoteBytes = 32;

    /// <summary>
    /// <paramref name="text"/> if its UTF-8 form fits <paramref name="maxBytes"/>; otherwise its head, cut between
    /// characters, with a note of how many characters were left out, the two together within <paramref name="maxBytes"/>.
    /// So a bounded text passes through again unchanged.
    /// </summary>
    public static string Bound(string text, int maxBytes = MaxMessageBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, NoteBytes * 2);
        if (text.Length * 3 <= maxBytes || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var budget = maxBytes - NoteBytes;
        var bytes = 0;
        var kept = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > budget)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            kept += rune.Utf16SequenceLength;
        }

        return string.Concat(text.AsSpan(0, kept), $"… ({text.Length - kept} more characters)");
    }

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
