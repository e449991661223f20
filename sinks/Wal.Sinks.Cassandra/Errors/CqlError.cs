using Wal.Sinks.Cassandra.Protocol;

namespace Wal.Sinks.Cassandra.Errors;

/// <summary>
/// An ERROR message (spec 4.2.1 and 9), with what a retry can do about it in <see cref="IsRetriable"/>.
/// </summary>
public sealed record CqlError(CqlErrorCode Code, string Message, CqlErrorDetails? Details = null)
{
    /// <summary>
    /// True when sending the same idempotent request again may succeed. Every write Wal sends carries
    /// its own timestamp (last-write-wins), so a timed-out or partly applied write is safe to repeat;
    /// only a counter write is not (it would count twice).
    /// </summary>
    public bool IsRetriable => Code switch
    {
        // The node is short of replicas, busy, starting, or hit an internal fault: another try
        // (maybe on another node) can succeed.
        CqlErrorCode.ServerError or CqlErrorCode.Unavailable or CqlErrorCode.Overloaded
            or CqlErrorCode.IsBootstrapping or CqlErrorCode.TruncateError or CqlErrorCode.ReadTimeout => true,
        CqlErrorCode.WriteTimeout or CqlErrorCode.WriteFailure => !IsNonIdempotentWrite,

        // A read that failed on the replicas (e.g. too many tombstones) fails the same way again.
        CqlErrorCode.ReadFailure or CqlErrorCode.FunctionFailure => false,

        // The client re-prepares and retries by itself; if it still surfaces, the next attempt
        // prepares afresh.
        CqlErrorCode.Unprepared => true,

        // The request or the credentials are wrong; repeating them cannot help.
        CqlErrorCode.ProtocolError or CqlErrorCode.AuthenticationError or CqlErrorCode.SyntaxError
            or CqlErrorCode.Unauthorized or CqlErrorCode.Invalid or CqlErrorCode.ConfigError
            or CqlErrorCode.AlreadyExists => false,

        // A code this client does not know: do not loop on it.
        _ => false,
    };

    private bool IsNonIdempotentWrite => Details switch
    {
        WriteTimeoutDetails t => t.WriteType is "COUNTER" or "CAS",
        WriteFailureDetails f => f.WriteType is "COUNTER" or "CAS",
        _ => false,
    };

    public override string ToString() => $"{Code} (0x{(int)Code:X4}): {Message}";

    /// <summary>Reads an ERROR body: [int] code, [string] message, then the code's own content.</summary>
    public static CqlError Read(ref CqlReader reader)
    {
        var code = (CqlErrorCode)reader.ReadInt();
        var message = reader.ReadString();
        CqlErrorDetails? details = code switch
        {
            CqlErrorCode.Unavailable => new UnavailableDetails(reader.ReadConsistency(), reader.ReadInt(), reader.ReadInt()),
            CqlErrorCode.WriteTimeout => new WriteTimeoutDetails(reader.ReadConsistency(), reader.ReadInt(), reader.ReadInt(), reader.ReadString()),
            CqlErrorCode.ReadTimeout => new ReadTimeoutDetails(reader.ReadConsistency(), reader.ReadInt(), reader.ReadInt(), reader.ReadByte() != 0),
            CqlErrorCode.ReadFailure => new ReadFailureDetails(reader.ReadConsistency(), reader.ReadInt(), reader.ReadInt(), reader.ReadInt(), reader.ReadByte() != 0),
            CqlErrorCode.FunctionFailure => new FunctionFailureDetails(reader.ReadString(), reader.ReadString(), reader.ReadStringList()),
            CqlErrorCode.WriteFailure => new WriteFailureDetails(reader.ReadConsistency(), reader.ReadInt(), reader.ReadInt(), reader.ReadInt(), reader.ReadString()),
            CqlErrorCode.AlreadyExists => new AlreadyExistsDetails(reader.ReadString(), reader.ReadString()),
            CqlErrorCode.Unprepared => new UnpreparedDetails(reader.ReadShortBytes()),
            _ => null,
        };
        return new CqlError(code, message, details);
    }
}
