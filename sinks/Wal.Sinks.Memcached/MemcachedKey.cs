using System.Text;

namespace Wal.Sinks.Memcached;

/// <summary>The rules memcached's text protocols put on a key, checked before anything is sent.</summary>
public static class MemcachedKey
{
    /// <summary>The longest key memcached accepts, in bytes (UTF-8).</summary>
    public const int MaxLength = 250;

    /// <summary>Checks a key; on failure <paramref name="error"/> says what is wrong with it.</summary>
    public static bool TryValidate(string? key, out string? error)
    {
        if (string.IsNullOrEmpty(key))
        {
            error = "The memcached key is empty.";
            return false;
        }

        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            // The protocol is line- and space-delimited: a space, a control character or DEL would
            // split the command or end the line, and the server does not always reject it.
            if (c <= ' ' || c == '\u007f' || char.IsControl(c))
            {
                error = $"The memcached key '{Printable(key)}' contains whitespace or a control character (U+{(int)c:X4}).";
                return false;
            }

            // A surrogate outside a pair has no UTF-8 form: encoding writes U+FFFD for it, so "k\uD800"
            // and "k\uDC00" were the same key, and two targets overwrote each other.
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1]))
                {
                    i++;
                    continue;
                }

                error = $"The memcached key '{Printable(key)}' is not well-formed UTF-16: a lone surrogate (U+{(int)c:X4}) at index {i} has no UTF-8 form.";
                return false;
            }
        }

        var length = Encoding.UTF8.GetByteCount(key);
        if (length > MaxLength)
        {
            error = $"The memcached key is {length} bytes long; at most {MaxLength} are allowed.";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Validates a key and returns its wire form.</summary>
    /// <exception cref="ArgumentException">The key breaks one of the rules.</exception>
    public static byte[] Encode(string key)
    {
        if (!TryValidate(key, out var error))
        {
            throw new ArgumentException(error, nameof(key));
        }

        return Encoding.UTF8.GetBytes(key);
    }

    // Shown in errors and logs: no control characters, and no lone surrogate (one of the key's, or a pair cut at 40).
    private static string Printable(string key)
    {
        var shown = new StringBuilder();
        foreach (var rune in (key.Length > 40 ? key[..40] : key).EnumerateRunes())
        {
            shown.Append(Rune.IsControl(rune) || rune.Value == ' ' || rune == Rune.ReplacementChar ? "?" : rune.ToString());
        }

        return key.Length > 40 ? shown.Append('…').ToString() : shown.ToString();
    }
}
