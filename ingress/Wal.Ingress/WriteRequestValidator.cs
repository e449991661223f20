using Google.Protobuf.WellKnownTypes;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress;

/// <summary>
/// Checks the parts of a write that the namespace does not decide alone: its lifecycle against
/// the namespace's max_delay, and the resolved target's fields. Each error names the field.
/// </summary>
public static class WriteRequestValidator
{
    private const int MaxIdLength = 256;

    /// <summary>The first problem with the lifecycle, or null when it is valid.</summary>
    public static string? CheckLifecycle(Lifecycle? lifecycle, NamespaceConfig config, DateTimeOffset now)
    {
        if (lifecycle is null)
        {
            return null;
        }

        var maxDelay = config.MaxDelay.ToTimeSpan();
        var jitter = TimeSpan.Zero;
        if (lifecycle.Jitter is { } j)
        {
            if (!DurationRules.IsValidNonNegative(j))
            {
                return "lifecycle.jitter: must be a valid, non-negative duration";
            }

            jitter = j.ToTimeSpan();
        }

        var delay = TimeSpan.Zero;
        switch (lifecycle.ScheduleCase)
        {
            case Lifecycle.ScheduleOneofCase.Delay:
                if (!DurationRules.IsValidNonNegative(lifecycle.Delay))
                {
                    return "lifecycle.delay: must be a valid, non-negative duration";
                }

                delay = lifecycle.Delay.ToTimeSpan();
                break;
            case Lifecycle.ScheduleOneofCase.DeliverAt:
                if (!TryDateTime(lifecycle.DeliverAt, out var at))
                {
                    return "lifecycle.deliver_at: is not a valid timestamp";
                }

                delay = at > now ? at - now : TimeSpan.Zero;
                break;
            default:
                break;
        }

        if (delay + jitter > maxDelay)
        {
            return $"lifecycle: delay {delay} plus jitter {jitter} exceeds the namespace's max_delay of {maxDelay}";
        }

        if (lifecycle.OriginalWriteTime is { } written && !TryDateTime(written, out _))
        {
            return "lifecycle.original_write_time: is not a valid timestamp";
        }

        return null;
    }

    /// <summary>The first problem with the target that the record will carry, or null.</summary>
    /// <param name="target">The resolved target: the request's, or the namespace's default.</param>
    /// <param name="namespaces">The namespaces now: a Kafka target may not write to a topic Wal reads (<see cref="ReservedTopics"/>).</param>
    /// <param name="topologyApplicationId">The topology's application id, which names its topics.</param>
    public static string? CheckTarget(Target target, INamespaceRegistry namespaces, string? topologyApplicationId = null) =>
        TargetRules.ForRequest(target)
        ?? (target.DestinationCase == Target.DestinationOneofCase.Kafka
            && ReservedTopics.WhyReserved(target.Kafka.Topic, namespaces, applicationId: topologyApplicationId) is { } reserved
            ? $"target.kafka.topic: {reserved}, is Wal's own; a Kafka target may not write to a topic Wal reads"
            : null);

    public static string? CheckId(string id) =>
        id.Length > MaxIdLength ? $"id: {id.Length} characters, at most {MaxIdLength} allowed" : CheckIdText("id", id);

    /// <summary>
    /// The problem with an id field that holds U+FFFD, or null. Protobuf decodes every byte of a string field that is
    /// not UTF-8 to U+FFFD, so "xÿ" and "xþ" arrive as one id and two writes (or two mutations) would be
    /// recorded as the same. The bytes are gone by then: a U+FFFD sent as text cannot be told apart, and is refused too.
    /// </summary>
    public static string? CheckIdText(string field, string value) =>
        value.Contains('\uFFFD', StringComparison.Ordinal)
            ? $"{field}: is not UTF-8 (or holds U+FFFD, which every byte that is not UTF-8 decodes to, so two different ids would read as one)"
            : null;

    /// <summary>A caller's text as an answer quotes it back: its first 100 characters, so a refusal stays readable.</summary>
    internal static string Excerpt(string value) => value.Length <= 100 ? value : value[..100] + "…";

    private static bool TryDateTime(Timestamp timestamp, out DateTimeOffset value)
    {
        value = default;
        if (timestamp.Nanos is < 0 or > 999_999_999 || timestamp.Seconds is < -62135596800 or > 253402300799)
        {
            return false;
        }

        value = timestamp.ToDateTimeOffset();
        return true;
    }
}
