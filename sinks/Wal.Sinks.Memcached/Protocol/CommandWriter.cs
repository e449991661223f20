using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Wal.Sinks.Memcached.Protocol;

/// <summary>Serialises meta commands into one buffer, so a batch leaves in one socket write.</summary>
internal sealed class CommandWriter
{
    private const int InitialCapacity = 16 * 1024;
    // The most a connection keeps between writes. One large value grows the buffer past it (a value
    // is copied whole), and it is dropped at the next reset instead of being kept for good.
    private const int MaxRetainedCapacity = 1024 * 1024;
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private static readonly byte[] NoOpLine = "mn\r\n"u8.ToArray();
    private ArrayBufferWriter<byte> _buffer = new(InitialCapacity);

    public int Length => _buffer.WrittenCount;

    public ReadOnlyMemory<byte> Written => _buffer.WrittenMemory;

    /// <summary>Empties the buffer once its bytes are written, trading one grown past <see cref="MaxRetainedCapacity"/> for a small one.</summary>
    public void Reset()
    {
        if (_buffer.Capacity > MaxRetainedCapacity)
        {
            _buffer = new ArrayBufferWriter<byte>(InitialCapacity);
        }
        else
        {
            _buffer.ResetWrittenCount();
        }
    }

    /// <summary>Writes <c>verb key [datalen] flags O&lt;opaque&gt; [q]\r\n[data\r\n]</c>.</summary>
    public void Write(in MetaCommand command, uint opaque, bool quiet)
    {
        Ascii(command.Verb);
        Space();
        _buffer.Write(command.Key);
        if (command.HasValue)
        {
            Space();
            Number((ulong)command.Value.Length);
        }

        if (command.Flags.Length > 0)
        {
            Space();
            Ascii(command.Flags);
        }

        Ascii(" O");
        Number(opaque);
        if (quiet)
        {
            Ascii(" q");
        }

        _buffer.Write(Crlf);
        if (command.HasValue)
        {
            _buffer.Write(command.Value.Span);
            _buffer.Write(Crlf);
        }
    }

    public void WriteNoOp() => _buffer.Write(NoOpLine);

    private void Space()
    {
        _buffer.GetSpan(1)[0] = (byte)' ';
        _buffer.Advance(1);
    }

    private void Ascii(string text)
    {
        var span = _buffer.GetSpan(text.Length);
        var written = Encoding.ASCII.GetBytes(text, span);
        _buffer.Advance(written);
    }

    private void Number(ulong value)
    {
        var span = _buffer.GetSpan(20);
        if (!Utf8Formatter.TryFormat(value, span, out var written))
        {
            throw new InvalidOperationException("A number did not fit in 20 bytes.");
        }

        _buffer.Advance(written);
    }
}
