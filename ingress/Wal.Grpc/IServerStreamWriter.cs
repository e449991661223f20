using System.Threading.Channels;

namespace Wal.Grpc;

/// <summary>
/// The response messages of a streaming call. Safe to call from several threads: writes are
/// serialised. Send a batch with <see cref="WriteAvailableAsync"/>: one write lock and one flush for all of it.
/// </summary>
public interface IServerStreamWriter<T>
{
    /// <summary>Writes one message; when <paramref name="flush"/> is set, waits until the transport took it.</summary>
    ValueTask WriteAsync(T message, bool flush, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the messages <paramref name="source"/> has ready, in order, until it has none or at least
    /// <paramref name="maxBytes"/> are written (always at least one, if it has one), then flushes, taking the call's
    /// write lock once; returns how many it wrote. For senders that queue messages (acknowledgements, say) and send
    /// what has gathered since the last send.
    /// </summary>
    ValueTask<int> WriteAvailableAsync(ChannelReader<T> source, int maxBytes, CancellationToken cancellationToken);
}
