using System.Text.RegularExpressions;

namespace Wal.Streams;

/// <summary>
/// Typed options of a <see cref="KafkaStreams"/> instance. <see cref="Validate"/> runs at start and names the first bad option.
/// </summary>
public sealed partial record StreamsConfig
{
    /// <summary>The consumer group id, and the prefix of changelog topics (<c>{ApplicationId}-{store}-changelog</c>). Required.</summary>
    public string ApplicationId { get; init; } = "";

    /// <summary>Comma-separated host:port list. Required.</summary>
    public string BootstrapServers { get; init; } = "";

    /// <summary>Root of the task directories (<c>{StateDirectory}/{ApplicationId}/{taskId}</c>) holding persistent stores and checkpoints.</summary>
    public string StateDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "wal-streams");

    /// <summary>This application's directory under <see cref="StateDirectory"/>, which an instance locks while it runs.</summary>
    public string ApplicationDirectory => Path.Combine(StateDirectory, ApplicationId);

    /// <summary>How often tasks commit. Default: 30 s at-least-once, 100 ms exactly-once (as Kafka Streams).</summary>
    public TimeSpan? CommitInterval { get; init; }

    public ProcessingGuarantee ProcessingGuarantee { get; init; } = ProcessingGuarantee.AtLeastOnce;

    /// <summary>Stream threads of this instance; each is a consumer-group member with its own tasks.</summary>
    public int NumStreamThreads { get; init; } = 1;

    public DeserializationExceptionHandling DeserializationExceptionHandling { get; init; } = DeserializationExceptionHandling.LogAndFail;

    /// <summary>Where <see cref="DeserializationExceptionHandling.LogAndContinue"/> sends bad records. Default <c>{ApplicationId}-dead-letter</c>.</summary>
    public string? DeadLetterTopic { get; init; }

    /// <summary>How long one consumer poll waits for records when every task is idle.</summary>
    public TimeSpan PollTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The consumer's <c>session.timeout.ms</c>: how long the group waits for a silent member before rebalancing.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>The consumer's <c>heartbeat.interval.ms</c>; must be below <see cref="SessionTimeout"/>.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The consumer's <c>max.poll.interval.ms</c>: the longest a thread may go between polls (including a slow processor).</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromMinutes(5);

    // librdkafka's ranges for session.timeout.ms and max.poll.interval.ms.
    private static readonly TimeSpan MaxSessionTimeout = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxMaxPollInterval = TimeSpan.FromHours(24);

    /// <summary>Most records one task processes per loop iteration before the thread moves to the next task.</summary>
    public int MaxBatchPerTask { get; init; } = 1000;

    /// <summary>
    /// Longest one task processes records per loop iteration (at least one record), however few of
    /// <see cref="MaxBatchPerTask"/> it got through. A count alone did not bound it: a processor that waits on something slow
    /// (a sink that never answers, until its timeout) held the thread for a whole batch, its other tasks and polls included.
    /// </summary>
    public TimeSpan MaxTaskTimePerIteration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Records a task may hold fetched but unprocessed before its partitions are paused (Kafka Streams'
    /// <c>buffered.records.per.partition</c>); they resume once it holds half as many. Without it, a processor slower
    /// than fetching pulled the whole backlog into memory. Keep it well above what one poll can hand a task (up to
    /// <see cref="MaxBatchPerTask"/> times the thread's tasks): a pause throws away librdkafka's prefetched records, and
    /// at 4,000 the 8-partition pass-through benchmark fell from 1.04 to 0.48 of the raw loop.
    /// </summary>
    public int MaxBufferedPerTask { get; init; } = 20_000;

    /// <summary>Most changelog records applied per loop iteration while restoring, so polling goes on meanwhile.</summary>
    public int MaxRestoreBatch { get; init; } = 50_000;

    /// <summary>The producer's <c>transaction.timeout.ms</c> under exactly-once.</summary>
    public TimeSpan TransactionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Consumer settings the engine's guarantees rest on, which the additional settings may not name (<see cref="Validate"/>):
    /// offsets committed by the engine only after what their records wrote was acknowledged, the group the application id,
    /// end-of-partition events that tell a task it has read all its input, and the range assignor that keeps partition p
    /// of every co-partitioned input on one member. A name librdkafka takes with a <c>topic.</c> prefix counts too.
    /// </summary>
    public static readonly IReadOnlySet<string> ReservedConsumerSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        "group.id", "enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof", "partition.assignment.strategy",
        "bootstrap.servers", "metadata.broker.list",
    };

    /// <summary>
    /// Producer settings the engine's guarantees rest on, which the additional settings may not name: every output and
    /// changelog record written to all in-sync replicas, once and in order, with a delivery report the commit waits for,
    /// and under exactly-once the engine's own transactional ids.
    /// </summary>
    public static readonly IReadOnlySet<string> ReservedProducerSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        "acks", "request.required.acks", "enable.idempotence", "transactional.id", "delivery.report.only.error",
        "dotnet.producer.enable.delivery.reports", "bootstrap.servers", "metadata.broker.list",
    };

    /// <summary>
    /// Passed as they are to every client (consumer, restore consumer, producer), after Wal's own settings; none of
    /// <see cref="ReservedConsumerSettings"/> or <see cref="ReservedProducerSettings"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> AdditionalClientConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Passed as they are to the consumers, after <see cref="AdditionalClientConfig"/>; but the restore consumer's
    /// <c>auto.offset.reset</c> stays <c>error</c>, which restores a store whose changelog lost its position from the beginning.
    /// Under exactly-once an <c>isolation.level</c> other than <c>read_committed</c> (here or in
    /// <see cref="AdditionalClientConfig"/>) fails <see cref="Validate"/>, as does any of <see cref="ReservedConsumerSettings"/>.
    /// </summary>
    public IReadOnlyDictionary<string, string> AdditionalConsumerConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>Passed as they are to the producers, after <see cref="AdditionalClientConfig"/>; none of <see cref="ReservedProducerSettings"/>.</summary>
    public IReadOnlyDictionary<string, string> AdditionalProducerConfig { get; init; } = new Dictionary<string, string>();

    /// <summary>The commit interval in force: <see cref="CommitInterval"/> or the guarantee's default.</summary>
    public TimeSpan EffectiveCommitInterval =>
        CommitInterval ?? (ProcessingGuarantee == ProcessingGuarantee.ExactlyOnce ? TimeSpan.FromMilliseconds(100) : TimeSpan.FromSeconds(30));

    /// <summary>The dead-letter topic in force.</summary>
    public string EffectiveDeadLetterTopic => DeadLetterTopic ?? $"{ApplicationId}-dead-letter";

    /// <summary>Why <paramref name="applicationId"/> cannot be an application id, or null when it can: it prefixes topic names.</summary>
    public static string? ApplicationIdProblem(string? applicationId) =>
        string.IsNullOrWhiteSpace(applicationId) ? "is required"
        : TopicNamePattern().IsMatch(applicationId) ? null
        : $"'{applicationId}' may hold only letters, digits, '.', '_' and '-' (it prefixes topic names)";

    /// <summary>Throws <see cref="StreamsConfigException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        var applicationIdProblem = ApplicationIdProblem(ApplicationId);
        Require(applicationIdProblem is null, nameof(ApplicationId), applicationIdProblem!);
        Require(!string.IsNullOrWhiteSpace(BootstrapServers), nameof(BootstrapServers), "is required");
        Require(!string.IsNullOrWhiteSpace(StateDirectory), nameof(StateDirectory), "is required");
        Require(EffectiveCommitInterval > TimeSpan.Zero, nameof(CommitInterval), $"must be positive, was {EffectiveCommitInterval}");
        Require(Enum.IsDefined(ProcessingGuarantee), nameof(ProcessingGuarantee), $"'{ProcessingGuarantee}' is not a known guarantee");
        Require(NumStreamThreads is >= 1 and <= 64, nameof(NumStreamThreads), $"must be between 1 and 64, was {NumStreamThreads}");
        Require(Enum.IsDefined(DeserializationExceptionHandling), nameof(DeserializationExceptionHandling),
            $"'{DeserializationExceptionHandling}' is not a known handling");
        Require(DeadLetterTopic is null || TopicNamePattern().IsMatch(DeadLetterTopic), nameof(DeadLetterTopic),
            $"'{DeadLetterTopic}' is not a valid topic name");
        Require(PollTimeout >= TimeSpan.Zero && PollTimeout <= TimeSpan.FromSeconds(10), nameof(PollTimeout),
            $"must be between 0 and 10 s, was {PollTimeout}");
        // The upper bounds are librdkafka's: over them it refuses the consumer, which a stream thread builds only once running.
        Require(SessionTimeout >= TimeSpan.FromSeconds(1) && SessionTimeout <= MaxSessionTimeout, nameof(SessionTimeout),
            $"must be between 1 s and {MaxSessionTimeout.TotalHours} h, was {SessionTimeout}");
        Require(HeartbeatInterval > TimeSpan.Zero && HeartbeatInterval < SessionTimeout, nameof(HeartbeatInterval),
            $"must be positive and below SessionTimeout ({SessionTimeout}), was {HeartbeatInterval}");
        Require(MaxPollInterval >= SessionTimeout && MaxPollInterval <= MaxMaxPollInterval, nameof(MaxPollInterval),
            $"must be at least SessionTimeout ({SessionTimeout}) and at most {MaxMaxPollInterval.TotalHours} h, was {MaxPollInterval}");
        Require(MaxBatchPerTask >= 1, nameof(MaxBatchPerTask), $"must be at least 1, was {MaxBatchPerTask}");
        Require(MaxBufferedPerTask >= 2, nameof(MaxBufferedPerTask), $"must be at least 2, was {MaxBufferedPerTask}");
        Require(MaxTaskTimePerIteration > TimeSpan.Zero, nameof(MaxTaskTimePerIteration), $"must be positive, was {MaxTaskTimePerIteration}");
        Require(MaxRestoreBatch >= 1, nameof(MaxRestoreBatch), $"must be at least 1, was {MaxRestoreBatch}");
        Require(TransactionTimeout >= TimeSpan.FromSeconds(1), nameof(TransactionTimeout), $"must be at least 1 s, was {TransactionTimeout}");
        Require(AdditionalClientConfig is not null, nameof(AdditionalClientConfig), "must not be null");
        Require(AdditionalConsumerConfig is not null, nameof(AdditionalConsumerConfig), "must not be null");
        Require(AdditionalProducerConfig is not null, nameof(AdditionalProducerConfig), "must not be null");
        // Applied after the engine's own settings, one of these would quietly take a guarantee away: auto-commit
        // committing offsets of records whose writes were never acknowledged, acks=1 losing a changelog record with
        // its leader, another group id splitting the application. Refused, as the ingress refuses its own.
        RequireNoReserved(nameof(AdditionalClientConfig), AdditionalClientConfig, ReservedConsumerSettings.Union(ReservedProducerSettings));
        RequireNoReserved(nameof(AdditionalConsumerConfig), AdditionalConsumerConfig, ReservedConsumerSettings);
        RequireNoReserved(nameof(AdditionalProducerConfig), AdditionalProducerConfig, ReservedProducerSettings);
        // Applied after Wal's own settings, a read_uncommitted consumer would process, and restore into the stores,
        // records of aborted transactions. Kafka Streams overrides the setting under exactly-once for the same reason.
        var (isolationOption, isolation) = IsolationLevelOverride();
        Require(ProcessingGuarantee != ProcessingGuarantee.ExactlyOnce || isolation is null || isolation.Equals("read_committed", StringComparison.OrdinalIgnoreCase),
            isolationOption, $"sets isolation.level to '{isolation}', but exactly-once reads only committed records (read_committed)");
    }

    // The consumers' isolation.level among the additional settings: the consumer-specific one is applied last, so it wins.
    private (string Option, string? Level) IsolationLevelOverride() =>
        AdditionalConsumerConfig.TryGetValue("isolation.level", out var level) ? (nameof(AdditionalConsumerConfig), level)
        : AdditionalClientConfig.TryGetValue("isolation.level", out level) ? (nameof(AdditionalClientConfig), level)
        : (nameof(AdditionalConsumerConfig), null);

    private static void RequireNoReserved(string option, IReadOnlyDictionary<string, string> settings, IEnumerable<string> reserved)
    {
        var names = reserved.ToHashSet(StringComparer.Ordinal);
        // librdkafka hands a name it does not know globally to the default topic configuration, without a "topic." prefix.
        var first = settings.Keys.Order(StringComparer.Ordinal)
            .FirstOrDefault(n => names.Contains(n) || (n.StartsWith("topic.", StringComparison.Ordinal) && names.Contains(n["topic.".Length..])));
        Require(first is null, option, $"sets '{first}', which the engine's guarantees rest on and which may not be overridden");
    }

    private static void Require([System.Diagnostics.CodeAnalysis.DoesNotReturnIf(false)] bool condition, string option, string problem)
    {
        if (!condition)
        {
            throw new StreamsConfigException($"StreamsConfig.{option} {problem}.") { Option = option };
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex TopicNamePattern();
}
