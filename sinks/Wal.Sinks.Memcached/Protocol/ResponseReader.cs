using System.Buffers.Text;
using System.Text;

namespace Wal.Sinks.Memcached.Protocol;

/// <summary>Reads meta-protocol responses from a stream through one reusable buffer.</summary>
internal sealed class ResponseReader
{
    // A response line carries a code and a handful of short flags; anything longer means the
    // stream is not what we think it is.
    private const int MaxLineLength = 8 * 1024;
    private readonly Stream _stream;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public ResponseReader(Stream stream) => _stream = stream;

    /// <summary>Reads the next response.</summary>
    /// <exception cref="EndOfStreamException">The server closed the connection.</exception>
    /// <exception cref="InvalidDataException">The bytes are not a meta-protocol response.</exception>
    public async ValueTask<MetaResponse> ReadAsync(CancellationToken cancellationToken)
    {
        var lineLength = await ReadLineAsync(cancellationToken);
        var line = _buffer.AsMemory(_start, lineLength);
        _start += lineLength + 2;
        var response = Parse(line.Span, out var valueLength);
        if (valueLength < 0)
        {
            return response;
        }

        var value = await ReadValueAsync(valueLength, cancellationToken);
        return new MetaResponse
        {
            Status = response.Status,
            Cas = response.Cas,
            ClientFlags = response.ClientFlags,
            Opaque = response.Opaque,
            Value = value,
        };
    }

    private async ValueTask<int> ReadLineAsync(CancellationToken cancellationToken)
    {
        var scanned = 0;
        while (true)
        {
            var index = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf("\r\n"u8);
            if (index >= 0)
            {
                return scanned + index;
            }

            scanned = Math.Max(0, _end - _start - 1);
            if (scanned > MaxLineLength)
            {
                throw new InvalidDataException($"A memcached response line exceeded {MaxLineLength} bytes.");
            }

            await FillAsync(cancellationToken);
        }
    }

    private async ValueTask<byte[]> ReadValueAsync(int length, CancellationToken cancellationToken)
    {
        var value = new byte[length];
        var copied = 0;
        while (copied < length)
        {
            if (_end == _start)
            {
                await FillAsync(cancellationToken);
            }

            var chunk = Math.Min(length - copied, _end - _start);
            _buffer.AsSpan(_start, chunk).CopyTo(value.AsSpan(copied));
            _start += chunk;
            copied += chunk;
        }

        while (_end - _start < 2)
        {
            await FillAsync(cancellationToken);
        }

        if (_buffer[_start] != '\r' || _buffer[_start + 1] != '\n')
        {
            throw new InvalidDataException("A memcached value was not followed by CRLF.");
        }

        _start += 2;
        return value;
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (read == 0)
        {
            throw new EndOfStreamException("memcached closed the connection.");
        }

        _end += read;
    }

    private static MetaResponse Parse(ReadOnlySpan<byte> line, out int valueLength)
    {
        valueLength = -1;
        if (line.StartsWith("CLIENT_ERROR"u8))
        {
            return new MetaResponse { Status = MetaStatus.ClientError, ErrorMessage = Message(line["CLIENT_ERROR"u8.Length..]) };
        }

        if (line.StartsWith("SERVER_ERROR"u8))
        {
            return new MetaResponse { Status = MetaStatus.ServerError, ErrorMessage = Message(line["SERVER_ERROR"u8.Length..]) };
        }

        if (line.SequenceEqual("ERROR"u8))
        {
            return new MetaResponse { Status = MetaStatus.Error, ErrorMessage = "unknown command" };
        }

        if (line.Length < 2 || (line.Length > 2 && line[2] != ' '))
        {
            throw new InvalidDataException($"Unexpected memcached response '{Message(line)}'.");
        }

        var status = Code(line[..2]);
        var rest = line.Length > 2 ? line[3..] : [];
        if (status == MetaStatus.Value)
        {
            var space = rest.IndexOf((byte)' ');
            var size = space < 0 ? rest : rest[..space];
            if (!Utf8Parser.TryParse(size, out valueLength, out var consumed) || consumed != size.Length || valueLength < 0)
            {
                throw new InvalidDataException($"Bad value size in memcached response '{Message(line)}'.");
            }

            rest = space < 0 ? [] : rest[(space + 1)..];
        }

        ulong cas = 0;
        uint clientFlags = 0;
        uint? opaque = null;
        foreach (var range in rest.Split((byte)' '))
        {
            var token = rest[range];
            if (token.Length < 2)
            {
                continue;
            }

            switch (token[0])
            {
                case (byte)'c':
                    cas = ParseNumber(token[1..], line);
                    break;
                case (byte)'f':
                    clientFlags = (uint)ParseNumber(token[1..], line);
                    break;
                case (byte)'O':
                    opaque = (uint)ParseNumber(token[1..], line);
                    break;
                default:
                    break;
            }
        }

        return new MetaResponse { Status = status, Cas = cas, ClientFlags = clientFlags, Opaque = opaque };
    }

    private static MetaStatus Code(ReadOnlySpan<byte> code) => code switch
    {
        [(byte)'H', (byte)'D'] => MetaStatus.Header,
        [(byte)'V', (byte)'A'] => MetaStatus.Value,
        [(byte)'E', (byte)'N'] => MetaStatus.Miss,
        [(byte)'N', (byte)'F'] => MetaStatus.NotFound,
        [(byte)'N', (byte)'S'] => MetaStatus.NotStored,
        [(byte)'E', (byte)'X'] => MetaStatus.Exists,
        [(byte)'M', (byte)'N'] => MetaStatus.NoOp,
        _ => throw new InvalidDataException($"Unknown memcached return code '{Message(code)}'."),
    };

    private static ulong ParseNumber(ReadOnlySpan<byte> digits, ReadOnlySpan<byte> line)
    {
        if (!Utf8Parser.TryParse(digits, out ulong value, out var consumed) || consumed != digits.Length)
        {
            throw new InvalidDataException($"Bad number in memcached response '{Message(line)}'.");
        }

        return value;
    }

    private static string Message(ReadOnlySpan<byte> text) => Encoding.ASCII.GetString(text).Trim();
}
