using Google.Protobuf;

namespace Wal.Grpc;

internal sealed class GrpcStreamReader<T>(GrpcCall call, MessageParser<T> parser) : IAsyncStreamReader<T>
    where T : class, IMessage<T>
{
    private T? _current;

    public T Current => _current ?? throw new InvalidOperationException("MoveNextAsync has not returned true yet.");

    public ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        // Most messages of a busy stream are already buffered: answered without an async state machine per message.
        var read = call.Reader.ReadAsync(parser, cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            _current = read.Result;
            return new ValueTask<bool>(_current is not null);
        }

        return AwaitedAsync(read);
    }

    private async ValueTask<bool> AwaitedAsync(ValueTask<T?> read)
    {
        _current = await read;
        return _current is not null;
    }
}
