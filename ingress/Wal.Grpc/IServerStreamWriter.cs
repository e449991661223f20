namespace Wal.Grpc;

/// <summary>
/// The response messages of a streaming call. Safe to call from several threads: writes are
/// serialised. Send a batch with <see cref="WriteAllAsync"/>: one write lock and one flush for all of it.
/// </summary>
public interface IServerStreamWriter<in T>
{
    /// <summary>Writes one message; when <paramref name="flush"/> is set, waits until the transport took it.</summary>
    ValueTask WriteAsync(T message, bool flush, CancellationToken cancellationToken);

    /// <summary>
    /// Writes every message of a batch and then flushes, taking the call's write lock once: for
    /// senders that gather messages (acknowledgements, say) and send them together.
    /// </summary>
    ValueTask WriteAllAsync(IReadOnlyList<T> messages, CancellationToken cancellationToken);
}
