using System.Buffers.Binary;
using System.Text;

namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>
/// Reads the notations of spec section 3 from a frame body. Running past the end throws
/// <see cref="CqlProtocolException"/>: a truncated body is a broken frame, never a short value.
/// </summary>
public ref struct CqlReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _source;

    public CqlReader(ReadOnlySpan<byte> source)
    {
        _source = source;
        Position = 0;
    }

    public int Position { get; private set; }

    public readonly int Remaining => _source.Length - Position;

    public byte ReadByte() => Take(1)[0];

    public ushort ReadShort() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long ReadLong() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public string ReadString() => Utf8(Take(ReadShort()));

    public string ReadLongString()
    {
        var length = ReadInt();
        return length < 0 ? throw new CqlProtocolException($"A [long string] cannot have length {length}.") : Utf8(Take(length));
    }

    /// <summary>[bytes]: null when the length is negative.</summary>
    public byte[]? ReadBytes()
    {
        var length = ReadInt();
        return length < 0 ? null : Take(length).ToArray();
    }

    /// <summary>
    /// Throws unless <paramref name="count"/> items of at least <paramref name="minBytesEach"/>
    /// bytes can fit in what is left of the body. Counts come from the server and size arrays: a
    /// corrupt one must be a protocol error for its request, not gigabytes allocated before the
    /// body runs out, nor an OutOfMemoryException that the read loop takes for a broken socket,
    /// closing the connection and failing every request on it as lost.
    /// </summary>
    public readonly void EnsureRoomFor(int count, long minBytesEach, string what)
    {
        // Divided, not multiplied: a count and a size both near int.MaxValue overflow even a long.
        if (count < 0 || count > Remaining / Math.Max(1, minBytesEach))
        {
            throw new CqlProtocolException($"{count} {what} of at least {minBytesEach} bytes each cannot fit in the {Remaining} bytes left of the frame body.");
        }
    }

    public byte[] ReadShortBytes() => Take(ReadShort()).ToArray();

    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    public CqlConsistency ReadConsistency() => (CqlConsistency)ReadShort();

    public IReadOnlyList<string> ReadStringList()
    {
        var count = ReadShort();
        var list = new string[count];
        for (var i = 0; i < count; i++)
        {
            list[i] = ReadString();
        }

        return list;
    }

    public IReadOnlyDictionary<string, string> ReadStringMap()
    {
        var count = ReadShort();
        var map = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            map[ReadString()] = ReadString();
        }

        return map;
    }

    public IReadOnlyDictionary<string, IReadOnlyList<string>> ReadStringMultimap()
    {
        var count = ReadShort();
        var map = new Dictionary<string, IReadOnlyList<string>>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            map[ReadString()] = ReadStringList();
        }

        return map;
    }

    /// <summary>[bytes map]: read and returned, for custom payloads.</summary>
    public IReadOnlyDictionary<string, byte[]?> ReadBytesMap()
    {
        var count = ReadShort();
        var map = new Dictionary<string, byte[]?>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            map[ReadString()] = ReadBytes();
        }

        return map;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining)
        {
            throw new CqlProtocolException($"Frame body ends after {_source.Length} bytes; {count} more were needed at offset {Position}.");
        }

        var span = _source.Slice(Position, count);
        Position += count;
        return span;
    }

    private static string Utf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new CqlProtocolException($"A string is not valid UTF-8: {e.Message}");
        }
    }
}
