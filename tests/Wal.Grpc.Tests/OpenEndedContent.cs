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
        try
        {
            // HttpClient cancels this once the response has ended.
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
