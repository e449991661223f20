namespace Wal.Sinks.Memcached.Protocol;

/// <summary>The two-letter return codes of the meta protocol, and the classic error lines.</summary>
internal enum MetaStatus
{
    /// <summary><c>HD</c>: success, no value.</summary>
    Header,

    /// <summary><c>VA</c>: success, a value follows.</summary>
    Value,

    /// <summary><c>EN</c>: get miss.</summary>
    Miss,

    /// <summary><c>NF</c>: not found (delete, or a compare-and-set on a missing item).</summary>
    NotFound,

    /// <summary><c>NS</c>: not stored (add on an existing item, for example).</summary>
    NotStored,

    /// <summary><c>EX</c>: the compare-and-set token did not match.</summary>
    Exists,

    /// <summary><c>MN</c>: the answer to <c>mn</c>, the end of a pipelined batch.</summary>
    NoOp,

    /// <summary><c>ERROR</c>: unknown command.</summary>
    Error,

    /// <summary><c>CLIENT_ERROR msg</c>.</summary>
    ClientError,

    /// <summary><c>SERVER_ERROR msg</c>.</summary>
    ServerError,
}
