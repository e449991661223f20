using System.Globalization;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Client;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Cli.Tests.Serving;

/// <summary>
/// <c>wal ingress --no-create-topics</c> run as a user runs it, against the mock cluster (which has no CreateTopics, so
/// the test makes the topics): a real client's write, read back from the namespace's log, and a clean stop. Each run
/// names its --admin-port, so that none needs the default one free.
/// </summary>
public sealed class IngressCommandTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string SeedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");
    private static readonly IReadOnlyList<NamespaceConfig> Seeded = [.. NamespaceSeedFile.Load(SeedFile).Select(NamespaceDefaults.Resolve)];
    private readonly EmbeddedKafkaCluster _kafka = EmbeddedKafkaCluster.Start(1);
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    [Fact]
    public async Task Ingress_NoCreateTopicsWithTheTopicsMade_WritesDurablyAndExitsOkWhenStopped()
    {
        // Only what the ingress itself reads and writes: the control plane and the namespaces' logs.
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync([.. Seeded.Select(ns => new Wal.Kafka.TopicSpec(ns.Topic, ns.Partitions))]);
        var port = LoopbackPorts.Free();
        var adminPort = LoopbackPorts.Free();
        Assert.NotEqual(port, adminPort);
        using var stop = new CancellationTokenSource();
        var run = RunIngressAsync(port, adminPort, stop.Token);
        await Eventually.WaitUntilAsync(async () => run.IsCompleted || await LoopbackPorts.AcceptsAsync(port), Deadline, () => $"wal ingress to listen\n{Console()}");
        Assert.False(run.IsCompleted, $"wal ingress ended before serving\n{Console()}");
        using var http = new HttpClient();
        using var health = await http.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"));
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);

        using var client = new WalClient(new WalClientOptions { Address = new Uri($"http://127.0.0.1:{port}") });
        var response = await client.WriteToLogAsync(new WriteToLogRequest
        {
            Namespace = "demo",
            Id = "no-create-topics-1",
            Payload = ByteString.CopyFromUtf8("written through wal ingress"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = "k" } },
        });

        Assert.True(response.Durable == Trilean.True, $"{response}\n{Console()}");
        var entry = ReadAt(response.Position);
        Assert.Equal("no-create-topics-1", entry.Id);
        Assert.Equal("written through wal ingress", entry.Payload.ToStringUtf8());
        await stop.CancelAsync();
        var exit = await run.WaitAsync(Deadline);
        Assert.True(exit == ExitCodes.Ok, $"exit {exit}\n{Console()}");
        Assert.False(await LoopbackPorts.AcceptsAsync(port), "wal ingress still listens after it stopped");
    }

    [Fact]
    public async Task Ingress_ApplicationIdGiven_ChecksNamespacesAndTargetsAgainstThatTopologysTopics()
    {
        // The topology runs as "orders-app": a namespace created through the ingress must agree with the changelogs under
        // that id, not under the default one, which do not exist.
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync([.. Seeded.Select(ns => new Wal.Kafka.TopicSpec(ns.Topic, ns.Partitions))]);
        var fresh = NamespaceDefaults.Resolve(new NamespaceConfig { Name = "fresh", Partitions = 3 });
        var changelogs = Wal.Topology.WalTopology.TopicsFor([fresh], "orders-app").Where(t => t.Name.StartsWith("orders-app-", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(changelogs);
        await _kafka.EnsureAsync([new Wal.Kafka.TopicSpec(fresh.Topic, 3), .. changelogs.Select(t => t with { Partitions = 2 })]);
        var port = LoopbackPorts.Free();
        using var stop = new CancellationTokenSource();
        var run = RunIngressAsync(port, adminPort: -1, stop.Token, "--application-id", "orders-app");
        await Eventually.WaitUntilAsync(async () => run.IsCompleted || await LoopbackPorts.AcceptsAsync(port), Deadline, () => $"wal ingress to listen\n{Console()}");
        Assert.False(run.IsCompleted, $"wal ingress ended before serving\n{Console()}");

        using var client = new WalClient(new WalClientOptions { Address = new Uri($"http://127.0.0.1:{port}") });
        var refusal = await Assert.ThrowsAsync<WalCallException>(() => client.CreateNamespaceAsync(new NamespaceConfig { Name = "fresh", Partitions = 3 }));

        Assert.True(refusal.StatusCode == 9 /* FAILED_PRECONDITION */, $"{refusal.StatusCode} {refusal.StatusMessage}");
        Assert.Contains(changelogs[0].Name, refusal.StatusMessage, StringComparison.Ordinal);
        // Its topics are that topology's, which a Kafka target may not write to.
        var intoState = await client.WriteToLogAsync(new WriteToLogRequest
        {
            Namespace = "demo",
            Payload = ByteString.CopyFromUtf8("x"),
            Target = new Target { Kafka = new KafkaTarget { Topic = "orders-app-demo-timers-changelog" } },
        });
        Assert.True(intoState.Durable == Trilean.False && intoState.Message.Contains("topology 'orders-app'", StringComparison.Ordinal), $"{intoState}");
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await run.WaitAsync(Deadline));
    }

    [Fact]
    public async Task Ingress_NoCreateTopicsAndANamespaceCreatedWithoutItsLog_RefusedNamingTheLogAndNothingPublished()
    {
        // Published without its log, the namespace's writes failed, or a broker that auto-creates topics made the log at
        // the first write with its own default count; the start-up check covers only the namespaces there at start.
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync([.. Seeded.Select(ns => new Wal.Kafka.TopicSpec(ns.Topic, ns.Partitions))]);
        var port = LoopbackPorts.Free();
        using var stop = new CancellationTokenSource();
        var run = RunIngressAsync(port, adminPort: -1, stop.Token);
        await Eventually.WaitUntilAsync(async () => run.IsCompleted || await LoopbackPorts.AcceptsAsync(port), Deadline, () => $"wal ingress to listen\n{Console()}");
        Assert.False(run.IsCompleted, $"wal ingress ended before serving\n{Console()}");
        using var client = new WalClient(new WalClientOptions { Address = new Uri($"http://127.0.0.1:{port}") });

        var refusal = await Record.ExceptionAsync(() => client.CreateNamespaceAsync(new NamespaceConfig { Name = "unmade", Partitions = 3 }));

        var refused = Assert.IsType<WalCallException>(refusal);
        Assert.True(refused.StatusCode == 9 /* FAILED_PRECONDITION */, $"{refused.StatusCode} {refused.StatusMessage}");
        Assert.Contains("'wal.unmade' does not exist", refused.StatusMessage, StringComparison.Ordinal);
        var lookup = await Record.ExceptionAsync(() => client.GetNamespaceAsync("unmade"));
        Assert.True(lookup is WalCallException { StatusCode: 5 /* NOT_FOUND */ }, $"the namespace was published: {lookup}");
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await run.WaitAsync(Deadline));
    }

    [Fact]
    public async Task Ingress_NoCreateTopicsAndALogMissing_ExitsFailedNamingTheTopic()
    {
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        var demo = Seeded.Single(ns => ns.Name == "demo");
        await _kafka.EnsureAsync([new Wal.Kafka.TopicSpec(demo.Topic, demo.Partitions)]);

        var exit = await RunIngressAsync(LoopbackPorts.Free(), adminPort: -1, CancellationToken.None).WaitAsync(Deadline);

        var stderr = _error.ToString();
        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\n{Console()}");
        Assert.Contains("error: --no-create-topics, but topic 'wal.kv-mutations' does not exist", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("'wal.demo'", stderr, StringComparison.Ordinal);
        Assert.Contains("next: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingress_NoCreateTopicsAndNoControlPlaneTopic_ExitsFailedNamingItWithoutCreatingIt()
    {
        var exit = await RunIngressAsync(LoopbackPorts.Free(), adminPort: -1, CancellationToken.None).WaitAsync(Deadline);

        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\n{Console()}");
        Assert.Contains($"error: --no-create-topics, but topic '{ControlPlaneOptions.DefaultTopic}' does not exist", _error.ToString(), StringComparison.Ordinal);
        Assert.Contains("next: ", _error.ToString(), StringComparison.Ordinal);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _kafka.BootstrapServers }).Build();
        Assert.DoesNotContain(admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics, t => t.Topic == ControlPlaneOptions.DefaultTopic);
    }

    [Fact]
    public async Task Ingress_AdminPortIsTheGrpcPort_ExitsUsageNamingTheSettingWithoutAStackTrace()
    {
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync([.. Seeded.Select(ns => new Wal.Kafka.TopicSpec(ns.Topic, ns.Partitions))]);
        var port = LoopbackPorts.Free();

        var exit = await RunIngressAsync(port, adminPort: port, CancellationToken.None).WaitAsync(Deadline);

        var stderr = _error.ToString();
        Assert.True(exit == ExitCodes.Usage, $"exit {exit}\n{Console()}");
        Assert.Contains($"error: AdminPort: {port} must be", stderr, StringComparison.Ordinal);
        Assert.Contains("next: Fix the options", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", _output.ToString() + stderr, StringComparison.Ordinal);
    }

    // TLS files that exist but do not fit: the client's key for the server's certificate, and the CA's key for its
    // certificate. The first failed as "failed unexpectedly", a CryptographicException naming neither file, with a stack
    // trace; the second started, and refused every client at the handshake with nothing in the ingress's own output.
    [Theory]
    [InlineData("--tls-key", "client.key", "TlsCertificatePath/TlsKeyPath")]
    [InlineData("--tls-client-ca", "ca.key", "ClientCaPath")]
    public async Task Ingress_TlsFileThatDoesNotFit_ExitsUsageNamingTheSettingWithoutAStackTrace(string option, string file, string setting)
    {
        await _kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers }.TopicSpec]);
        await _kafka.EnsureAsync([.. Seeded.Select(ns => new Wal.Kafka.TopicSpec(ns.Topic, ns.Partitions))]);
        using var certificates = new Tls.ComposeCertificates();
        var tls = new Dictionary<string, string>
        {
            ["--tls-cert"] = certificates.File("server.pem"),
            ["--tls-key"] = certificates.File("server.key"),
            ["--tls-client-ca"] = certificates.File("ca.pem"),
        };
        tls[option] = certificates.File(file);

        // Stopped at the deadline should it serve after all: then it exits 0.
        using var stop = new CancellationTokenSource(Deadline);

        var exit = await RunIngressAsync(LoopbackPorts.Free(), adminPort: -1, stop.Token, [.. tls.SelectMany(t => new[] { t.Key, t.Value })]);

        var stderr = _error.ToString();
        Assert.True(exit == ExitCodes.Usage, $"exit {exit}\n{Console()}");
        Assert.Contains($"{setting}: ", stderr, StringComparison.Ordinal);
        Assert.Contains(certificates.File(file), stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", _output.ToString() + stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("wal topology")]
    [InlineData("wal/topology")]
    public async Task Ingress_ApplicationIdNoTopicNameCanStartWith_ExitsUsageBeforeReachingKafka(string applicationId)
    {
        // The ingress creates a new namespace's changelogs under the topology's id, and checks Kafka targets against
        // them: an id no topic name can carry went on to Kafka before anything said so.
        var exit = await WalCommandLine.RunAsync(["ingress", "--bootstrap-servers", "127.0.0.1:1", "--application-id", applicationId], _output, _error).WaitAsync(Deadline);

        Assert.True(exit == ExitCodes.Usage, $"exit {exit}\n{Console()}");
        Assert.Contains($"--application-id '{applicationId}'", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ingress_AdminPortOutOfRange_ExitsUsageNamingIt()
    {
        var exit = await WalCommandLine.RunAsync(["ingress", "--admin-port", "70000"], _output, _error).WaitAsync(Deadline);

        Assert.True(exit == ExitCodes.Usage, $"exit {exit}\n{Console()}");
        Assert.Contains("--admin-port 70000 must be", _error.ToString(), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _kafka.Dispose();
        _output.Dispose();
        _error.Dispose();
    }

    private Task<int> RunIngressAsync(int port, int adminPort, CancellationToken cancellationToken, params string[] more) => WalCommandLine.RunAsync(
        [
            "ingress", "--bootstrap-servers", _kafka.BootstrapServers, "--namespaces", SeedFile,
            "--listen", $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}", "--admin-port", adminPort.ToString(CultureInfo.InvariantCulture),
            "--no-create-topics", .. more,
        ],
        _output,
        _error,
        cancellationToken);

    private LogEntry ReadAt(LogPosition position)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = _kafka.BootstrapServers, GroupId = $"read-back-{Guid.NewGuid():N}", EnableAutoCommit = false,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(position.Topic, position.Partition, position.Offset));
        var record = consumer.Consume(Deadline);
        Assert.NotNull(record);
        return LogEntry.Parser.ParseFrom(record.Message.Value);
    }

    private string Console() => $"stdout:\n{_output}\nstderr:\n{_error}";
}
