using System.Buffers.Text;
using System.Text;

namespace Wal.Sinks.Memcached.Protocol;

/// <summary>
/// Reads a server's item size limit (<c>item_size_max</c> of <c>stats settings</c>) on a connection just opened, before
/// any other request: configuration may say 1 MiB while the server runs with a smaller <c>-I</c>, and a write above the
/// server's limit both fails and drops the key's stored item.
/// </summary>
internal static class ServerItemSizeLimit
{
    // stats settings lists some sixty short lines; far more means the peer is not what we think it is.
    private const int MaxAnswerBytes = 64 * 1024;
    private static readonly byte[] Request = "stats settings\r\n"u8.ToArray();

    /// <summary>The limit in bytes; null when the server does not say (it refuses the command, or lists no such setting).</summary>
    /// <exception cref="InvalidDataException">The answer is not a stats listing.</exception>
    /// <exception cref="EndOfStreamException">The server closed the connection.</exception>
    public static async Task<int?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Request, cancellationToken);
        var buffer = new byte[MaxAnswerBytes];
        var filled = 0;
        var lineStart = 0;
        int? limit = null;
        while (true)
        {
            var lineLength = buffer.AsSpan(lineStart, filled - lineStart).IndexOf("\r\n"u8);
            if (lineLength < 0)
            {
                if (filled == buffer.Length)
                {
                    throw new InvalidDataException($"memcached's answer to stats settings exceeded {MaxAnswerBytes} bytes.");
                }

                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
                filled += read > 0 ? read : throw new EndOfStreamException("memcached closed the connection.");
                continue;
            }

            var line = new ReadOnlyMemory<byte>(buffer, lineStart, lineLength);
            lineStart += lineLength + 2;
            if (Take(line.Span, ref limit))
            {
                return limit;
            }
        }
    }

    // True at the end of the answer; an error line ends it with the limit unknown.
    private static bool Take(ReadOnlySpan<byte> line, ref int? limit)
    {
        if (line.SequenceEqual("END"u8))
        {
            return true;
        }

        if (line.SequenceEqual("ERROR"u8) || line.StartsWith("CLIENT_ERROR"u8) || line.StartsWith("SERVER_ERROR"u8))
        {
            limit = null;
            return true;
        }

        if (!line.StartsWith("STAT "u8))
        {
            throw new InvalidDataException($"memcached answered stats settings with '{Encoding.ASCII.GetString(line).Trim()}'.");
        }

        var setting = "STAT item_size_max "u8;
        if (line.StartsWith(setting) && Utf8Parser.TryParse(line[setting.Length..], out int value, out var consumed) && consumed == line.Length - setting.Length && value > 0)
        {
            limit = value;
        }

        return false;
    }
}
