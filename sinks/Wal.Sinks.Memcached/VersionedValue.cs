using System.Buffers.Binary;

namespace Wal.Sinks.Memcached;

/// <summary>
/// The bytes <see cref="MemcachedSink"/> stores: a 10-byte header (magic, kind, big-endian version)
/// and then the payload. Items written this way carry <see cref="ClientFlags"/>, so a reader can
/// tell them from foreign values; <see cref="TryDecode"/> strips the header and reports tombstones.
/// </summary>
public static class VersionedValue
{
    /// <summary>The client flags of every item the sink writes: "WAL1" in ASCII.</summary>
    public const uint ClientFlags = 0x57414C31;

    /// <summary>Header length in bytes.</summary>
    public const int HeaderLength = 10;

    private const byte Magic = 0xA7;
    private const byte ValueKind = 1;
    private const byte TombstoneKind = 2;

    /// <summary>Encodes a value (or, when <paramref name="tombstone"/>, a deletion) at a version.</summary>
    public static byte[] Encode(long version, ReadOnlySpan<byte> payload, bool tombstone)
    {
        var bytes = new byte[HeaderLength + (tombstone ? 0 : payload.Length)];
        bytes[0] = Magic;
        bytes[1] = tombstone ? TombstoneKind : ValueKind;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(2), version);
        if (!tombstone)
        {
            payload.CopyTo(bytes.AsSpan(HeaderLength));
        }

        return bytes;
    }

    /// <summary>
    /// Reads a stored item. False for items the sink did not write (other flags or no header).
    /// </summary>
    public static bool TryDecode(uint clientFlags, ReadOnlyMemory<byte> stored, out long version, out bool tombstone, out ReadOnlyMemory<byte> payload)
    {
        var span = stored.Span;
        if (clientFlags != ClientFlags || span.Length < HeaderLength || span[0] != Magic || span[1] is not (ValueKind or TombstoneKind))
        {
            version = 0;
            tombstone = false;
            payload = default;
            return false;
        }

        version = BinaryPrimitives.ReadInt64BigEndian(span[2..]);
        tombstone = span[1] == TombstoneKind;
        payload = stored[HeaderLength..];
        return true;
    }
}
