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

    public QuietBatchRequest(IReadOnlyList<MetaCommand> commands) => _commands = commands;

    /// <summary>The responses that came back (failures, and values for gets), with the command index; -1 when the server did not say which.</summary>
    public Task<IReadOnlyList<(int Index, MetaResponse Response)>> Completion => _completion.Task;

    public override void WriteTo(CommandWriter writer, ref uint nextOpaque)
    {
        _firstOpaque = nextOpaque;
        foreach (var command in _commands)
        {
            writer.Write(command, nextOpaque++, quiet: true);
        }

        writer.WriteNoOp();
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
