namespace Wal.Sinks.Memcached;

/// <summary>The <c>M</c> flag of <c>ms</c>: when a set applies.</summary>
public enum MemcachedSetMode
{
    /// <summary>Always (subject to a CAS compare, if given).</summary>
    Set,

    /// <summary>Only if the key does not exist.</summary>
    Add,

    /// <summary>Only if the key exists.</summary>
    Replace,
}
