using System.Buffers.Binary;

namespace Wal.Sinks.Cassandra.Protocol;

/// <summary>
/// The fixed 9-byte frame header (spec section 2): version, flags, stream id, opcode and body
/// length, big-endian.
/// </summary>
public readonly record struct CqlFrameHeader(byte Version, CqlFrameFlags Flags, short Stream, CqlOpcode Opcode, int Length)
{
    /// <summary>Header size in bytes.</summary>
    public const int Size = 9;

    /// <summary>Version byte of a v4 request (direction bit clear).</summary>
    public const byte RequestVersion = 0x04;

    /// <summary>Version byte of a v4 response (direction bit set).</summary>
    public const byte ResponseVersion = 0x84;

    /// <summary>Largest body the spec allows (section 2.5): 256 MB.</summary>
    public const int MaxBodyLength = 256 * 1024 * 1024;

    /// <summary>True for a frame sent by the server.</summary>
    public bool IsResponse => (Version & 0x80) != 0;

    /// <summary>The protocol version without the direction bit.</summary>
    public int ProtocolVersion => Version & 0x7F;

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (Length is < 0 or > MaxBodyLength)
        {
            throw new CqlProtocolException($"Frame body length {Length} is outside 0..{MaxBodyLength}.");
        }

        destination[0] = Version;
        destination[1] = (byte)Flags;
        BinaryPrimitives.WriteInt16BigEndian(destination[2..], Stream);
        destination[4] = (byte)Opcode;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], Length);
    }

    /// <summary>Reads a header, rejecting a body length the spec does not allow.</summary>
    public static CqlFrameHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new CqlProtocolException($"A frame header needs {Size} bytes, got {source.Length}.");
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(source[5..]);
        if (length is < 0 or > MaxBodyLength)
        {
            throw new CqlProtocolException($"Frame body length {length} is outside 0..{MaxBodyLength}.");
        }

        return new CqlFrameHeader(
            source[0],
            (CqlFrameFlags)source[1],
            BinaryPrimitives.ReadInt16BigEndian(source[2..]),
            (CqlOpcode)source[4],
            length);
    }
}
