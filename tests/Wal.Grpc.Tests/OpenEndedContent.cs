using System.Net;

namespace Wal.Grpc.Tests;

/// <summary>
/// A request body that sends its bytes and then stays open, as a streaming client that has
/// nothing more to say yet: the server sees neither more data nor the end of the stream.
/// </summary>
public sealed class OpenEndedContent(byte[] bytes) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        await SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(bytes, cancellationToken);
        await stream.FlushAsync(cancellationToken);
        // HttpClient cancels this once the response has ended, and the request side must end
        // inline, before HTTP/2 reads its next frame: if that is the server closing the
        // connection, .NET would otherwise fail the response that had already arrived.
        var abandoned = new TaskCompletionSource();
        using (cancellationToken.UnsafeRegister(static a => ((TaskCompletionSource)a!).TrySetResult(), abandoned))
        {
            await abandoned.Task.ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
