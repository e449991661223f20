using System.Threading.Channels;
using Google.Protobuf;

namespace Wal.Grpc;

internal sealed class GrpcStreamWriter<T>(GrpcCall call) : IServerStreamWriter<T>
    where T : IMessage
{
    public async ValueTask WriteAsync(T message, bool flush, CancellationToken cancellationToken)
    {
        if (!await call.WriteAsync(message, flush, cancellationToken))
        {
            throw new InvalidOperationException("The call has already completed.");
        }
    }

    public async ValueTask<int> WriteAvailableAsync(ChannelReader<T> source, int maxBytes, CancellationToken cancellationToken) =>
        await call.WriteAvailableAsync(source, maxBytes, cancellationToken) is var written and >= 0
            ? written
            : throw new InvalidOperationException("The call has already completed.");
}
