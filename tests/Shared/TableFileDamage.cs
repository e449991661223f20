namespace Wal.Tests;

/// <summary>
/// Damages a RocksDB table file in place, as a bad disk would: RocksDB opens it without complaint (it reads a data block
/// only when asked for it) and reports the checksum mismatch to the first read that meets the block. Compiled by the two
/// test projects that need it (their project files link it).
/// </summary>
internal static class TableFileDamage
{
    /// <summary>Inverts 64 bytes starting at <paramref name="fraction"/> of <paramref name="tableFile"/>'s length.</summary>
    public static void FlipBytes(string tableFile, double fraction)
    {
        using var file = new FileStream(tableFile, FileMode.Open, FileAccess.ReadWrite);
        var at = (long)(file.Length * fraction);
        var bytes = new byte[64];
        file.Position = at;
        file.ReadExactly(bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] ^= 0xFF;
        }

        file.Position = at;
        file.Write(bytes);
    }
}
