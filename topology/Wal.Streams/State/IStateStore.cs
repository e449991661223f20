namespace Wal.Streams.State;

/// <summary>Anything a processor can look up by name through its context.</summary>
public interface IStateStore : IDisposable
{
    string Name { get; }

    /// <summary>Whether the data survives a restart of the process (RocksDB) or not (in-memory).</summary>
    bool Persistent { get; }

    /// <summary>Makes everything written so far durable enough to be covered by a checkpoint.</summary>
    void Flush();
}
