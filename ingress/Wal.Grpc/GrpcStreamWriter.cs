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

    public async ValueTask WriteAllAsync(IReadOnlyList<T> messages, CancellationToken cancellationToken)
    {
        if (!await call.WriteAllAsync(messages, cancellationToken))
        {
            throw new InvalidOperationException("The call has already completed.");
        }
    }
}
