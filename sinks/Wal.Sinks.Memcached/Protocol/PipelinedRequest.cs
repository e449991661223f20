namespace Wal.Sinks.Memcached.Protocol;

/// <summary>
/// Many commands written back to back and answered one by one, in order: the batch costs one
/// round trip and one completion, yet every command's answer comes back (unlike quiet mode, a
/// stored item's answer carries its CAS token). memcached runs a connection's commands in the
/// order they arrive, so two commands on one key take effect in list order.
/// </summary>
internal sealed class PipelinedRequest : PendingRequest
{
    private readonly IReadOnlyList<MetaCommand> _commands;
    private readonly MetaResponse[] _responses;
    private readonly TaskCompletionSource<MetaResponse[]> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _firstOpaque;
    private int _written;
    private int _answered;

    public PipelinedRequest(IReadOnlyList<MetaCommand> commands)
    {
        if (commands.Count == 0)
        {
            throw new ArgumentException("A pipelined request needs at least one command.", nameof(commands));
        }

        _commands = commands;
        _responses = new MetaResponse[commands.Count];
    }

    /// <summary>The responses, by command index.</summary>
    public Task<MetaResponse[]> Completion => _completion.Task;

    public override bool WriteNext(CommandWriter writer, ref uint nextOpaque)
    {
        if (_written == 0)
        {
            _firstOpaque = nextOpaque;
        }

        writer.Write(_commands[_written++], nextOpaque++, quiet: false);
        return _written == _commands.Count;
    }

    public override bool OnResponse(MetaResponse response)
    {
        // An error line carries no opaque, so the count alone places it; an echoed one must match.
        CheckOpaque(response, _firstOpaque + (uint)_answered, 1);
        _responses[_answered++] = response;
        if (_answered < _responses.Length)
        {
            return false;
        }

        _completion.TrySetResult(_responses);
        return true;
    }

    public override void Fail(Exception error) => _completion.TrySetException(error);
}
