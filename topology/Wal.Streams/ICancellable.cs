namespace Wal.Streams;

/// <summary>A handle to a scheduled punctuator.</summary>
public interface ICancellable
{
    /// <summary>Stops future punctuations; a cancelled schedule never fires again.</summary>
    void Cancel();
}
