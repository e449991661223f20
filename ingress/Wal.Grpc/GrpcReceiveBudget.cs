namespace Wal.Grpc;

/// <summary>
/// The bytes of request messages that have begun to arrive but are not whole yet, across every
/// call of one server. A message is parsed only once all of it is buffered, and Kestrel grants
/// HTTP/2 flow-control window for bytes the reader has looked at, so without this bound a caller
/// could hold up to <see cref="GrpcServerOptions.MaxReceiveMessageSize"/> per stream, on as many
/// streams and connections as it opens. A message found incomplete takes the bytes of it buffered so
/// far, more as more arrives, and gives them back when it is whole or its call ends; one that no
/// longer fits ends its call with RESOURCE_EXHAUSTED.
/// </summary>
public sealed class GrpcReceiveBudget(long maxBytes)
{
    private long _used;

    /// <summary>The bound, in bytes.</summary>
    public long MaxBytes => maxBytes;

    /// <summary>Bytes taken by messages still arriving.</summary>
    public long Used => Volatile.Read(ref _used);

    /// <summary>Takes <paramref name="bytes"/> if they fit under the bound; false, with nothing taken, if not.</summary>
    public bool TryTake(long bytes) => BoundedCounter.TryAdd(ref _used, bytes, maxBytes);

    /// <summary>Gives back bytes taken by <see cref="TryTake"/>.</summary>
    public void Give(long bytes) => Interlocked.Add(ref _used, -bytes);

    /// <summary>
    /// Raised for each request message refused RESOURCE_EXHAUSTED on arrival, before any handler sees it, with why:
    /// <c>receiving_bytes</c> (it did not fit this bound), <c>message_size</c> (over the largest message size) or
    /// <c>arrival_time</c> (it held part of this bound longer than its time to arrive whole). Such a
    /// message is a write shed to protect the server, and no handler can count it: it was never parsed.
    /// </summary>
    public event Action<string>? Refused;

    internal void OnRefused(string reason) => Refused?.Invoke(reason);
}
