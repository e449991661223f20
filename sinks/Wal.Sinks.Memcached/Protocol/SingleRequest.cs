namespace Wal.Sinks.Memcached.Protocol;

/// <summary>One command, completed by its one response.</summary>
internal sealed class SingleRequest : PendingRequest
{
    private readonly MetaCommand _command;
    private readonly TaskCompletionSource<MetaResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _opaque;

    public SingleRequest(MetaCommand command) => _command = command;

    public Task<MetaResponse> Completion => _completion.Task;

    public override bool WriteNext(CommandWriter writer, ref uint nextOpaque)
    {
        _opaque = nextOpaque++;
        writer.Write(_command, _opaque, quiet: false);
        return true;
    }

    public override bool OnResponse(MetaResponse response)
    {
        CheckOpaque(response, _opaque, 1);
        _completion.TrySetResult(response);
        return true;
    }

    public override void Fail(Exception error) => _completion.TrySetException(error);
}
