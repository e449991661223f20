using System.Buffers;
using Wal.Schemas.V1;

namespace Wal.Namespaces;

/// <summary>Checks a resolved definition; each error names the field, as in namespace.proto.</summary>
public static class NamespaceValidator
{
    private static readonly SearchValues<char> NameCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-_");

    private static readonly SearchValues<char> TopicCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

    /// <summary>The topics a namespace writes to, each with the field that names it.</summary>
    public static (string Field, string Topic)[] Topics(NamespaceConfig config) =>
        [("topic", config.Topic), ("dead_letter_topic", config.DeadLetterTopic)];

    /// <summary>
    /// Refuses <paramref name="config"/> when one of its topics is one no namespace may use: <paramref name="whyNot"/>
    /// says why (the text after the field's name), or null for a topic it may.
    /// </summary>
    /// <exception cref="NamespaceConfigException">A topic is refused; the error names its field.</exception>
    public static void RefuseTopics(NamespaceConfig config, Func<string, string?> whyNot)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(whyNot);
        foreach (var (field, topic) in Topics(config))
        {
            if (whyNot(topic) is { } why)
            {
                throw new NamespaceConfigException(config.Name, [$"{field}: {why}"]);
            }
        }
    }

    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 100 && !name.AsSpan().ContainsAnyExcept(NameCharacters);

    public static IReadOnlyList<string> Validate(NamespaceConfig config)
    {
        var errors = new List<string>();
        if (!IsValidName(config.Name))
        {
            errors.Add($"name: '{config.Name}' must be 1 to 100 characters of a-z, 0-9, '-' and '_'");
        }

        foreach (var (field, topic) in Topics(config))
        {
            CheckTopic(errors, field, topic);
        }

        if (config.Topic == config.DeadLetterTopic)
        {
            errors.Add("dead_letter_topic: must differ from topic");
        }

        if (config.Partitions is < 1 or > 10_000)
        {
            errors.Add($"partitions: {config.Partitions} must be between 1 and 10000");
        }

        if (config.Personas.Contains(Persona.Unspecified))
        {
            errors.Add("personas: PERSONA_UNSPECIFIED is not a persona");
        }

        if (CheckDuration(errors, "max_delay", config.MaxDelay) && config.MaxDelay.ToTimeSpan() <= TimeSpan.Zero)
        {
            errors.Add("max_delay: must be positive");
        }

        // Zero or negative means the default (one hour) to the topology, but it reads the value.
        CheckDuration(errors, "mutation_expiry", config.MutationExpiry);

        if (config.MaxPayloadBytes is < 1 or > 64 * 1024 * 1024)
        {
            errors.Add($"max_payload_bytes: {config.MaxPayloadBytes} must be between 1 and 67108864");
        }

        if (config.DefaultTarget is { } defaultTarget && TargetRules.ForDefault(defaultTarget) is { } targetProblem)
        {
            errors.Add(targetProblem);
        }

        ValidateRetry(errors, config.Retry);
        ValidateQuota(errors, config.Quota);
        ValidateRegions(errors, config);
        return errors;
    }

    private static void ValidateRetry(List<string> errors, RetryPolicy retry)
    {
        var initialValid = CheckDuration(errors, "retry.initial_backoff", retry.InitialBackoff);
        if (initialValid && retry.InitialBackoff.ToTimeSpan() <= TimeSpan.Zero)
        {
            errors.Add("retry.initial_backoff: must be positive");
        }

        if (CheckDuration(errors, "retry.max_backoff", retry.MaxBackoff) && initialValid
            && retry.MaxBackoff.ToTimeSpan() < retry.InitialBackoff.ToTimeSpan())
        {
            errors.Add("retry.max_backoff: must not be below retry.initial_backoff");
        }

        if (retry.Multiplier < 1.0 || double.IsNaN(retry.Multiplier))
        {
            errors.Add($"retry.multiplier: {retry.Multiplier} must be at least 1.0");
        }

        if (retry.MaxAttempts < 1)
        {
            errors.Add($"retry.max_attempts: {retry.MaxAttempts} must be at least 1");
        }

        if (retry.Jitter is < 0 or > 1 || double.IsNaN(retry.Jitter))
        {
            errors.Add($"retry.jitter: {retry.Jitter} must be between 0 and 1");
        }
    }

    private static void ValidateQuota(List<string> errors, Quota quota)
    {
        if (quota.WritesPerSecond < 0 || double.IsNaN(quota.WritesPerSecond))
        {
            errors.Add("quota.writes_per_second: must not be negative");
        }

        if (quota.Burst < 0)
        {
            errors.Add("quota.burst: must not be negative");
        }

        if (quota.MaxInFlightBytes < 1)
        {
            errors.Add("quota.max_in_flight_bytes: must be positive");
        }
    }

    private static void ValidateRegions(List<string> errors, NamespaceConfig config)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var region in config.Regions)
        {
            if (region.Name.Length == 0 || !seen.Add(region.Name))
            {
                errors.Add($"regions: region name '{region.Name}' is empty or repeated");
            }

            if (region.BootstrapServers.Length == 0)
            {
                errors.Add($"regions[{region.Name}].bootstrap_servers: must not be empty");
            }
        }

        if (config.Personas.Contains(Persona.CrossRegionReplication) && config.Regions.Count < 2)
        {
            errors.Add("regions: PERSONA_CROSS_REGION_REPLICATION needs at least two regions");
        }
    }

    // Duration.ToTimeSpan throws on a value outside protobuf's range (seconds and nanos of one sign, |nanos| below
    // a second, about ±10,000 years): such a value, which a binary record can carry, is an error naming its field,
    // not an exception from whoever reads it later. Null (unset) is valid: defaults fill what they cover.
    private static bool CheckDuration(List<string> errors, string field, Google.Protobuf.WellKnownTypes.Duration? duration)
    {
        if (duration is null)
        {
            return true;
        }

        try
        {
            _ = duration.ToTimeSpan();
            return true;
        }
        catch (InvalidOperationException)
        {
            errors.Add($"{field}: {{seconds: {duration.Seconds}, nanos: {duration.Nanos}}} is not a valid duration (nanos below one second, of the seconds' sign)");
            return false;
        }
    }

    private static void CheckTopic(List<string> errors, string field, string topic)
    {
        if (topic.Length is 0 or > 249 || topic.AsSpan().ContainsAnyExcept(TopicCharacters) || topic is "." or "..")
        {
            errors.Add($"{field}: '{topic}' is not a valid Kafka topic name");
        }
    }
}
