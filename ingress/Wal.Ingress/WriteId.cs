using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Wal.Ingress;

/// <summary>
/// UUIDv7 ids (RFC 9562: 48 bits of Unix milliseconds, then 74 random bits) for writes that come
/// without one. <see cref="Guid.CreateVersion7()"/> asks the kernel for 16 random bytes per id, a
/// system call per write that showed in the streaming profile; here each thread takes its random
/// bits from a buffer of the same cryptographic generator, refilled a few KiB at a time.
/// </summary>
internal static class WriteId
{
    private const int RandomBytes = 10;
    private const int BufferBytes = RandomBytes * 400;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    public static string New(DateTimeOffset now)
    {
        var random = t_random;
        if (random is null || t_next + RandomBytes > random.Length)
        {
            random = t_random ??= new byte[BufferBytes];
            RandomNumberGenerator.Fill(random);
            t_next = 0;
        }

        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(bytes, now.ToUnixTimeMilliseconds() << 16);
        // Each stretch of the buffer is used once: an id's random bits are never another's.
        random.AsSpan(t_next, RandomBytes).CopyTo(bytes[6..]);
        t_next += RandomBytes;
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F));
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F));
        return new Guid(bytes, bigEndian: true).ToString();
    }
}
