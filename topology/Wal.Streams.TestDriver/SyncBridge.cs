using System.Runtime.ExceptionServices;

namespace Wal.Streams.TestDriver;

/// <summary>Lets the synchronous driver API (Kafka Streams' shape) run processors that complete synchronously.</summary>
internal static class SyncBridge
{
    public static void Complete(ValueTask pending, string asyncAlternative)
    {
        if (pending.IsCompletedSuccessfully)
        {
            return;
        }

        if (pending.IsCompleted)
        {
            var error = pending.AsTask().Exception!;
            ExceptionDispatchInfo.Capture(error.InnerExceptions.Count == 1 ? error.InnerException! : error).Throw();
        }

        throw new InvalidOperationException(
            $"A processor or punctuator did not complete synchronously; call {asyncAlternative} (and await it) for topologies that await I/O.");
    }
}
