namespace Wal.Streams;

/// <summary>Which clock drives a punctuator scheduled with <see cref="IProcessorContext{TKeyOut, TValueOut}.Schedule"/>.</summary>
public enum PunctuationType
{
    /// <summary>The task's stream time: the largest record timestamp seen. Fires only as records arrive.</summary>
    StreamTime,

    /// <summary>The system's wall clock: fires as time passes, records or not.</summary>
    WallClockTime,
}
