using Google.Protobuf.WellKnownTypes;
using Wal.Schemas.V1;

namespace Wal.Namespaces;

/// <summary>
/// Fills the zero values of a definition with the defaults documented in namespace.proto, then
/// validates the result. Resolved definitions are what every component reads.
/// </summary>
public static class NamespaceDefaults
{
    public const long MaxPayloadBytes = 1024 * 1024;
    public const long MaxInFlightBytes = 64L * 1024 * 1024;
    public const int Partitions = 3;
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(365);
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MutationExpiry = TimeSpan.FromHours(1);
    public const double Multiplier = 2.0;
    public const int MaxAttempts = 10;

    /// <summary>A validated copy of <paramref name="definition"/> with every default applied.</summary>
    /// <exception cref="NamespaceConfigException">The definition is invalid.</exception>
    public static NamespaceConfig Resolve(NamespaceConfig definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var config = definition.Clone();
        if (config.Topic.Length == 0)
        {
            config.Topic = $"wal.{config.Name}";
        }

        if (config.DeadLetterTopic.Length == 0)
        {
            config.DeadLetterTopic = $"wal.{config.Name}.dlq";
        }

        if (config.Partitions == 0)
        {
            config.Partitions = Partitions;
        }

        if (config.Personas.Count == 0)
        {
            config.Personas.Add(Persona.Delivery);
        }

        config.MaxDelay = OrDefault(config.MaxDelay, MaxDelay);
        if (config.MaxPayloadBytes == 0)
        {
            config.MaxPayloadBytes = MaxPayloadBytes;
        }

        config.MutationExpiry = OrDefault(config.MutationExpiry, MutationExpiry);
        config.Retry = ResolveRetry(config.Retry ?? new RetryPolicy());
        config.Quota ??= new Quota();
        if (config.Quota.MaxInFlightBytes == 0)
        {
            config.Quota.MaxInFlightBytes = MaxInFlightBytes;
        }

        var errors = NamespaceValidator.Validate(config);
        if (errors.Count > 0)
        {
            throw new NamespaceConfigException(config.Name, errors);
        }

        return config;
    }

    // namespace.proto says "Zero: <default>" for these, as for its numbers: a duration written as zero ("0s" in the seed
    // file's JSON) is present, not unset, and was refused as "must be positive".
    private static Duration OrDefault(Duration? duration, TimeSpan fallback) =>
        duration is null || (duration.Seconds == 0 && duration.Nanos == 0) ? Duration.FromTimeSpan(fallback) : duration;

    private static RetryPolicy ResolveRetry(RetryPolicy retry)
    {
        retry.InitialBackoff = OrDefault(retry.InitialBackoff, InitialBackoff);
        retry.MaxBackoff = OrDefault(retry.MaxBackoff, MaxBackoff);
        if (retry.Multiplier == 0)
        {
            retry.Multiplier = Multiplier;
        }

        if (retry.MaxAttempts == 0)
        {
            retry.MaxAttempts = MaxAttempts;
        }

        return retry;
    }
}
