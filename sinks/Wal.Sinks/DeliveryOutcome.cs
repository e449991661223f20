namespace Wal.Sinks;

public enum DeliveryOutcome
{
    /// <summary>The target now holds this version (or did already).</summary>
    Delivered,

    /// <summary>The target holds a newer version; nothing was written, and nothing needs to be.</summary>
    Superseded,

    /// <summary>Not delivered; the same delivery may succeed later (timeout, target down, overloaded).</summary>
    RetriableFailure,

    /// <summary>Not delivered, and retrying cannot help (invalid key, rejected schema): dead-letter it.</summary>
    PermanentFailure,
}
