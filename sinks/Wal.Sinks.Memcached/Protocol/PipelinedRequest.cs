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

    // With the answers already in: the commands they answer took effect, and a caller settling the batch one command
    // after another must see them as done, not as failed with the command whose error ended the request.
    public override void Fail(Exception error) => _completion.TrySetException(new PipelineFailedException(_responses[.._answered], error));
}

/// <summary>A pipelined request that failed part way: the answers of the commands before the failure, and its error.</summary>
internal sealed class PipelineFailedException : Exception
{
    public PipelineFailedException(MetaResponse[] answered, Exception error)
        : base(error.Message, error) => Answered = answered;

    /// <summary>The responses, by command index, of the commands answered before the failure.</summary>
    public MetaResponse[] Answered { get; }
}
