using System.Net;

namespace Wal.Ingress.Tests;

/// <summary>
/// A request body the test writes to while the response flows: each <see cref="SendAsync"/> goes
/// out at once, and <see cref="HalfClose"/> ends the request side (END_STREAM).
/// </summary>
public sealed class DuplexContent : HttpContent
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
        _stream.TrySetResult(stream);
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
