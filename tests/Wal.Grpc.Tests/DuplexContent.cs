using System.Net;

namespace Wal.Grpc.Tests;

/// <summary>
/// A request body that stays open while the response flows, as a streaming client's does: it sends
/// <c>first</c>, then each <see cref="SendAsync"/> at once, and ends the request side (END_STREAM)
/// only at <see cref="HalfClose"/>. Never half-closed, the server sees neither more data nor the end.
/// </summary>
public sealed class DuplexContent(byte[]? first = null) : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new();

    public async Task SendAsync(byte[] bytes)
    {
        var stream = await _stream.Task;
        await stream.WriteAsync(bytes);
        await stream.FlushAsync();
    }

    public void HalfClose() => _closed.TrySetResult();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (first is not null)
        {
            await stream.WriteAsync(first, cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }

        _stream.TrySetResult(stream);
        // HttpClient cancels this once the response has ended, and the request side must end
        // inline, before HTTP/2 reads its next frame: if that is the server closing the
        // connection, .NET would otherwise fail the response that had already arrived.
        using (cancellationToken.UnsafeRegister(static c => ((TaskCompletionSource)c!).TrySetResult(), _closed))
        {
            await _closed.Task.ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
