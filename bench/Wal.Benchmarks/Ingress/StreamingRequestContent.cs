using System.Net;

namespace Wal.Benchmarks.Ingress;

/// <summary>A request body written by a callback while the response is read: HTTP/2 full duplex on HttpClient.</summary>
internal sealed class StreamingRequestContent(Func<Stream, CancellationToken, Task> write) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => write(stream, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) => write(stream, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
