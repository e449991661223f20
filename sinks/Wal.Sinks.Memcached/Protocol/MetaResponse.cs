namespace Wal.Sinks.Memcached.Protocol;

/// <summary>One parsed response: its code, the return flags we ask for, and its value if any.</summary>
internal sealed class MetaResponse
{
    public required MetaStatus Status { get; init; }

    /// <summary>The item's CAS token (<c>c</c> flag), or 0 when not returned.</summary>
    public ulong Cas { get; init; }

    /// <summary>The item's client flags (<c>f</c> flag), or 0 when not returned.</summary>
    public uint ClientFlags { get; init; }

    /// <summary>The echoed opaque token (<c>O</c> flag), when returned.</summary>
    public uint? Opaque { get; init; }

    /// <summary>The value of a <c>VA</c> response.</summary>
    public byte[]? Value { get; init; }

    /// <summary>The message of an error line.</summary>
    public string? ErrorMessage { get; init; }

    public static MetaResponse NoOp { get; } = new() { Status = MetaStatus.NoOp };
}
