namespace Wal.Sinks.Memcached.Protocol;

/// <summary>
/// Many commands in quiet mode (<c>q</c>) followed by <c>mn</c>: the server answers only the
/// commands that did not succeed, each naming itself by its opaque token, and then <c>MN</c>. The
/// whole batch costs one round trip and almost no response bytes.
/// </summary>
internal sealed class QuietBatchRequest : PendingRequest
{
    private readonly IReadOnlyList<MetaCommand> _commands;
    private readonly List<(int Index, MetaResponse Response)> _answers = [];
    private readonly TaskCompletionSource<IReadOnlyList<(int Index, MetaResponse Response)>> _completion =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    private uint _firstOpaque;
    private int _written;

    public QuietBatchRequest(IReadOnlyList<MetaCommand> commands) => _commands = commands;

    /// <summary>The responses that came back (failures, and values for gets), with the command index; -1 when the server did not say which.</summary>
    public Task<IReadOnlyList<(int Index, MetaResponse Response)>> Completion => _completion.Task;

    public override bool WriteNext(CommandWriter writer, ref uint nextOpaque)
    {
        if (_written == 0)
        {
            _firstOpaque = nextOpaque;
        }

        if (_written == _commands.Count)
        {
            writer.WriteNoOp();
            return true;
        }

        writer.Write(_commands[_written++], nextOpaque++, quiet: true);
        return false;
    }

    public override bool OnResponse(MetaResponse response)
    {
        if (response.Status == MetaStatus.NoOp)
        {
            _completion.TrySetResult(_answers);
            return true;
        }

        CheckOpaque(response, _firstOpaque, _commands.Count);
        var index = response.Opaque is { } opaque ? (int)(opaque - _firstOpaque) : -1;
        _answers.Add((index, response));
        return false;
    }

    public override void Fail(Exception error) => _completion.TrySetException(error);
}
