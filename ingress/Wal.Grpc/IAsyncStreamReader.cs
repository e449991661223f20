namespace Wal.Grpc;

/// <summary>The request messages of a streaming call, read one at a time.</summary>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNextAsync"/>.</summary>
    T Current { get; }

    /// <summary>Reads the next message; false when the caller has half-closed the stream.</summary>
    ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken);
}
