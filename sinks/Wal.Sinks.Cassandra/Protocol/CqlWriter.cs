using System.Buffers.Binary;
using System.Text;

namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>
/// Writes the notations of spec section 3 into a growing big-endian buffer. One writer builds one
/// frame: <see cref="CqlFrameCodec"/> reserves the header, the message writes its body.
/// </summary>
public sealed class CqlWriter
{
    private byte[] _buffer;

    public CqlWriter(int initialCapacity = 256)
    {
        _buffer = new byte[Math.Max(16, initialCapacity)];
    }

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void WriteByte(byte value) => Reserve(1)[0] = value;

    /// <summary>[short]: 2 bytes, unsigned.</summary>
    public void WriteShort(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    /// <summary>[int]: 4 bytes.</summary>
    public void WriteInt(int value) => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);

    /// <summary>[long]: 8 bytes.</summary>
    public void WriteLong(long value) => BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);

    public void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    /// <summary>[string]: a [short] byte count, then UTF-8.</summary>
    public void WriteString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        if (count > ushort.MaxValue)
        {
            throw new ArgumentException($"A [string] holds at most {ushort.MaxValue} bytes; this one has {count}.", nameof(value));
        }

        WriteShort((ushort)count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    /// <summary>[long string]: an [int] byte count, then UTF-8.</summary>
    public void WriteLongString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        WriteInt(count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    /// <summary>[bytes]: an [int] length, then the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        WriteInt(bytes.Length);
        WriteRaw(bytes);
    }

    /// <summary>[bytes] holding null: length -1 and nothing after it.</summary>
    public void WriteNullBytes() => WriteInt(-1);

    /// <summary>[short bytes]: a [short] length, then the bytes.</summary>
    public void WriteShortBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"[short bytes] hold at most {ushort.MaxValue} bytes; got {bytes.Length}.", nameof(bytes));
        }

        WriteShort((ushort)bytes.Length);
        WriteRaw(bytes);
    }

    /// <summary>[string list]: a [short] count, then each [string].</summary>
    public void WriteStringList(IReadOnlyList<string> values)
    {
        WriteShort(CheckedCount(values.Count));
        foreach (var value in values)
        {
            WriteString(value);
        }
    }

    /// <summary>[string map]: a [short] count, then key and value [string] pairs, in the given order.</summary>
    public void WriteStringMap(IReadOnlyCollection<KeyValuePair<string, string>> map)
    {
        WriteShort(CheckedCount(map.Count));
        foreach (var (key, value) in map)
        {
            WriteString(key);
            WriteString(value);
        }
    }

    /// <summary>[string multimap]: a [short] count, then a [string] key and a [string list] per entry.</summary>
    public void WriteStringMultimap(IReadOnlyCollection<KeyValuePair<string, IReadOnlyList<string>>> map)
    {
        WriteShort(CheckedCount(map.Count));
        foreach (var (key, values) in map)
        {
            WriteString(key);
            WriteStringList(values);
        }
    }

    /// <summary>[consistency]: a [short].</summary>
    public void WriteConsistency(CqlConsistency consistency) => WriteShort((ushort)consistency);

    /// <summary>[value]: an [int] length (-1 null, -2 not set), then the bytes.</summary>
    public void WriteValue(CqlValue value)
    {
        WriteInt(value.WireLength);
        WriteRaw(value.Bytes.Span);
    }

    /// <summary>[uuid]: 16 bytes in RFC 4122 (big-endian) order.</summary>
    public void WriteUuid(Guid value)
    {
        if (!value.TryWriteBytes(Reserve(16), bigEndian: true, out _))
        {
            throw new InvalidOperationException("A reserved 16-byte span could not hold a uuid.");
        }
    }

    /// <summary>Overwrites 4 bytes at <paramref name="offset"/> with a big-endian [int].</summary>
    public void PatchInt(int offset, int value) => BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(offset, 4), value);

    /// <summary>Advances past <paramref name="count"/> bytes and returns them for writing.</summary>
    public Span<byte> Reserve(int count)
    {
        if (Length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
        }

        var span = _buffer.AsSpan(Length, count);
        Length += count;
        return span;
    }

    private static ushort CheckedCount(int count) =>
        count <= ushort.MaxValue
            ? (ushort)count
            : throw new ArgumentException($"A [short]-counted collection holds at most {ushort.MaxValue} entries; got {count}.", nameof(count));
}
