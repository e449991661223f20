namespace Wal.Sinks.Memcached.Protocol;

/// <summary>
/// Requests written on a connection wait in write order for their responses: memcached answers
/// every connection in order, so the oldest pending request owns the next response. The opaque
/// token each command carries is checked against the echo so a lost or extra response is caught
/// instead of being handed to the wrong caller.
/// </summary>
internal abstract class PendingRequest
{
    /// <summary>
    /// Writes the request's next command (a quiet batch's closing <c>mn</c> is one), numbered
    /// <paramref name="nextOpaque"/>; true once the whole request is written. One at a time, so the
    /// connection can write out what is buffered between two commands of a large request.
    /// </summary>
    public abstract bool WriteNext(CommandWriter writer, ref uint nextOpaque);

    /// <summary>Takes the next response; returns true when the request is complete.</summary>
    /// <exception cref="InvalidDataException">The response cannot belong to this request.</exception>
    public abstract bool OnResponse(MetaResponse response);

    public abstract void Fail(Exception error);

    protected static void CheckOpaque(MetaResponse response, uint expectedFirst, int count)
    {
        if (response.Opaque is { } opaque && (opaque - expectedFirst) >= (uint)count)
        {
            throw new InvalidDataException(
                $"memcached answered request O{opaque} while O{expectedFirst} was next: the connection lost track of its responses.");
        }
    }
}
