using System.Runtime.InteropServices;
using System.Text;

namespace Wal.Kafka.Embedded;

/// <summary>
/// A Kafka cluster inside this process: librdkafka's mock cluster, speaking the real Kafka
/// protocol on 127.0.0.1 ports, so any Kafka client (Confluent.Kafka here) talks to it as to
/// a broker. It keeps all data in memory: it lives and dies with this object.
/// </summary>
/// <remarks>
/// The mock cluster has no CreateTopics API; create topics with <see cref="CreateTopic"/>.
/// Topics a client merely names are auto-created with the mock's defaults, which is why
/// callers that care about partition counts create topics first.
/// </remarks>
public sealed class EmbeddedKafkaCluster : ITopicProvisioner, IDisposable
{
    private readonly Lock _gate = new();
    private IntPtr _handle;
    private IntPtr _cluster;

    private EmbeddedKafkaCluster(IntPtr handle, IntPtr cluster, int brokerCount)
    {
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = Marshal.PtrToStringUTF8(NativeMethods.MockClusterBootstraps(cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
    }

    /// <summary>Comma-separated host:port list for clients' <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1 to <see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a cluster of <paramref name="brokerCount"/> brokers on loopback ports.</summary>
    public static EmbeddedKafkaCluster Start(int brokerCount = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        var conf = NativeMethods.ConfNew();
        var error = new byte[512];
        // The owning handle never talks to the cluster; keep it quiet and cheap.
        Set(conf, "log_level", "3", error);
        Set(conf, "client.id", "wal-embedded-kafka", error);
        var handle = NativeMethods.KafkaNew(NativeMethods.ProducerType, conf, error, (nuint)error.Length);
        if (handle == IntPtr.Zero)
        {
            NativeMethods.ConfDestroy(conf);
            throw new InvalidOperationException($"librdkafka could not create the mock cluster's handle: {Text(error)}");
        }

        var cluster = WithSignalsBlocked(() => NativeMethods.MockClusterNew(handle, brokerCount));
        if (cluster == IntPtr.Zero)
        {
            NativeMethods.KafkaDestroy(handle);
            throw new InvalidOperationException("librdkafka could not create the mock cluster.");
        }

        return new EmbeddedKafkaCluster(handle, cluster, brokerCount);
    }

    // The mock cluster's thread takes the signal mask of the thread that creates it, and librdkafka (unlike for its
    // client threads) does not block signals there. A signal handled in this process (.NET handles SIGCHLD, which a
    // child process's exit sends to any thread not blocking it) interrupts that thread's poll, and it takes the error
    // for fatal: the thread ends and frees the cluster, every broker stops, and the next call that waits on the thread
    // (creating a topic) waits for good. Created with every signal blocked, the thread never takes one.
    private static IntPtr WithSignalsBlocked(Func<IntPtr> create)
    {
        var all = new byte[NativeMethods.SignalSetBytes];
        var before = new byte[NativeMethods.SignalSetBytes];
        if (NativeMethods.SigFillSet(all) != 0 || NativeMethods.PthreadSigMask(NativeMethods.SignalBlock, all, before) != 0)
        {
            throw new InvalidOperationException("could not block signals for the mock cluster's thread");
        }

        try
        {
            return create();
        }
        finally
        {
            _ = NativeMethods.PthreadSigMask(NativeMethods.SignalSetMask, before, new byte[NativeMethods.SignalSetBytes]);
        }
    }

    /// <summary>Creates a topic; an existing topic is left as it is.</summary>
    public void CreateTopic(string name, int partitions = 1, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        lock (_gate)
        {
            var code = NativeMethods.MockTopicCreate(Cluster(), name, partitions, replicationFactor);
            // 36 = TOPIC_ALREADY_EXISTS: creation is idempotent for callers.
            if (code != 0 && code != 36)
            {
                throw new InvalidOperationException($"Creating topic '{name}' failed: {ErrorText(code)}");
            }
        }
    }

    /// <summary>Creates each topic; compaction is not modelled by the mock cluster (it keeps every record).</summary>
    public Task EnsureAsync(IReadOnlyCollection<TopicSpec> topics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        foreach (var topic in topics)
        {
            // The brokers' default, as the mock cluster sets it for the topics it auto-creates.
            var replicationFactor = topic.ReplicationFactor == TopicSpec.BrokersDefault ? Math.Min(3, BrokerCount) : Math.Min(topic.ReplicationFactor, BrokerCount);
            CreateTopic(topic.Name, topic.Partitions, replicationFactor);
        }

        return Task.CompletedTask;
    }

    /// <summary>Takes a broker down: its connections close and it accepts none until <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId) => Check(NativeMethods.MockBrokerSetDown(Cluster(), brokerId), $"setting broker {brokerId} down");

    /// <summary>Brings a broker taken down by <see cref="SetBrokerDown"/> back.</summary>
    public void SetBrokerUp(int brokerId) => Check(NativeMethods.MockBrokerSetUp(Cluster(), brokerId), $"setting broker {brokerId} up");

    /// <summary>Delays every response of a broker by <paramref name="rtt"/>.</summary>
    public void SetBrokerRoundTrip(int brokerId, TimeSpan rtt) =>
        Check(NativeMethods.MockBrokerSetRtt(Cluster(), brokerId, (int)rtt.TotalMilliseconds), $"setting broker {brokerId}'s round trip");

    /// <summary>Moves a partition's leadership, e.g. away from a broker about to go down.</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        Check(NativeMethods.MockPartitionSetLeader(Cluster(), topic, partition, brokerId), $"moving {topic}/{partition} to broker {brokerId}");

    /// <summary>
    /// Makes the next <paramref name="errors"/>.Length requests of type <paramref name="api"/>, to any broker,
    /// fail with these Kafka error codes, in order.
    /// </summary>
    public void PushRequestErrors(KafkaApi api, params int[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        NativeMethods.MockPushRequestErrors(Cluster(), (short)api, (nuint)errors.Length, errors);
    }

    /// <summary>Forgets errors pushed with <see cref="PushRequestErrors"/> that have not fired yet.</summary>
    public void ClearRequestErrors(KafkaApi api) => NativeMethods.MockClearRequestErrors(Cluster(), (short)api);

    /// <summary>Makes metadata requests report <paramref name="error"/> for a topic (0 clears it).</summary>
    public void SetTopicError(string topic, int error) => NativeMethods.MockTopicSetError(Cluster(), topic, error);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != IntPtr.Zero)
            {
                NativeMethods.MockClusterDestroy(_cluster);
                _cluster = IntPtr.Zero;
            }

            if (_handle != IntPtr.Zero)
            {
                NativeMethods.KafkaDestroy(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }

    private IntPtr Cluster()
    {
        var cluster = _cluster;
        ObjectDisposedException.ThrowIf(cluster == IntPtr.Zero, this);
        return cluster;
    }

    private static void Set(IntPtr conf, string name, string value, byte[] error)
    {
        if (NativeMethods.ConfSet(conf, name, value, error, (nuint)error.Length) != NativeMethods.ConfOk)
        {
            NativeMethods.ConfDestroy(conf);
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {Text(error)}");
        }
    }

    private static void Check(int code, string what)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"The mock cluster refused {what}: {ErrorText(code)}");
        }
    }

    private static string ErrorText(int code) => Marshal.PtrToStringUTF8(NativeMethods.ErrorToString(code)) ?? code.ToString();

    private static string Text(byte[] buffer)
    {
        var end = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end);
    }
}
