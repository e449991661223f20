using System.Buffers.Binary;
using System.Text;

namespace Wal.Topology.Mutations;

/// <summary>
/// Key of a stored chunk: the request id (UTF-8), a 0x00 separator, then the sequence big-endian,
/// so the chunks of one request id are adjacent and a range scan yields them in sequence order.
/// </summary>
/// <remarks>
/// A request id may itself contain 0x00, so a scan over one id's range could in principle meet a
/// key of another id that starts with the same bytes; <see cref="Belongs"/> rejects those by length,
/// since only the id's own keys are exactly its length plus five bytes.
/// </remarks>
public static class ChunkKey
{
    private const int Suffix = 1 + sizeof(uint);

    public static byte[] Encode(string requestId, uint sequence)
    {
        var key = Prefix(requestId, Suffix);
        BinaryPrimitives.WriteUInt32BigEndian(key.AsSpan(key.Length - sizeof(uint)), sequence);
        return key;
    }

    /// <summary>The inclusive lower bound of the chunks of <paramref name="requestId"/> from <paramref name="sequence"/> on.</summary>
    public static byte[] From(string requestId, uint sequence) => Encode(requestId, sequence);

    /// <summary>The exclusive upper bound of every chunk of <paramref name="requestId"/>.</summary>
    public static byte[] End(string requestId)
    {
        var key = Prefix(requestId, 1);
        key[^1] = 0x01;
        return key;
    }

    /// <summary>
    /// The key of the record saying the mutation is done with its chunks (applied or dead-lettered): the request id,
    /// 0x00, then five 0xFF bytes. It lives in the chunk store so that it reaches the changelog with the chunks'
    /// deletes. One byte longer than a chunk key, so <see cref="Belongs"/> never takes it for a chunk, and no id's
    /// chunk key equals it (an id one byte longer would have to be this id and 0x00, whose chunk keys go on with 0x00).
    /// </summary>
    public static byte[] Finished(string requestId)
    {
        var key = Prefix(requestId, Suffix + 1);
        key.AsSpan(key.Length - Suffix).Fill(0xFF);
        return key;
    }

    public static bool Belongs(ReadOnlySpan<byte> key, string requestId) =>
        key.Length == Encoding.UTF8.GetByteCount(requestId) + Suffix;

    public static uint Sequence(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32BigEndian(key[^sizeof(uint)..]);

    private static byte[] Prefix(string requestId, int extra)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var key = new byte[Encoding.UTF8.GetByteCount(requestId) + extra];
        Encoding.UTF8.GetBytes(requestId, key);
        return key;
    }
}
