namespace Wal.RocksDb;

/// <summary>An error reported by RocksDB; the message is RocksDB's own status text.</summary>
public sealed class RocksDbException : Exception
{
    public RocksDbException()
    {
    }

    public RocksDbException(string message)
        : base(message)
    {
    }

    public RocksDbException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// RocksDB found the database's files damaged (a checksum mismatch, a truncated or unreadable file),
    /// as opposed to a lock, an I/O error or a bad argument: only then is rebuilding the data the remedy.
    /// </summary>
    /// <remarks>
    /// RocksDB's C API reports a failure as its status text only, and that text starts with the status
    /// code's name: "Corruption: block checksum mismatch: ... in .../000008.sst offset ...".
    /// </remarks>
    public bool IsCorruption => Message.StartsWith("Corruption:", StringComparison.Ordinal);
}
