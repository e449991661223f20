using Google.Protobuf;

namespace Wal.Grpc;

internal sealed class GrpcStreamReader<T>(GrpcCall call, MessageParser<T> parser) : IAsyncStreamReader<T>
    where T : class, IMessage<T>
{
    private T? _current;

    public T Current => _current ?? throw new InvalidOperationException("MoveNextAsync has not returned true yet.");

    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        _current = await call.Reader.ReadAsync(parser, cancellationToken);
        return _current is not null;
    }
}
