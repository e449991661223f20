using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Ingress.Admin;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>Who may change namespaces (AdminClients under mutual TLS), and concurrent changes on one instance.</summary>
public sealed class NamespaceAdminTests(NamespaceAdminTests.Fixture fixture) : IClassFixture<NamespaceAdminTests.Fixture>
{
    private const string Create = "/wal.v1.NamespaceAdmin/CreateNamespace";
    private const string List = "/wal.v1.NamespaceAdmin/ListNamespaces";
    private const string Delete = "/wal.v1.NamespaceAdmin/DeleteNamespace";
    private const string Update = "/wal.v1.NamespaceAdmin/UpdateNamespace";
    private const string Operator = "ops";

    [Fact]
    public async Task CreateNamespace_AdminClient_Created()
    {
        using var client = fixture.Client(Operator);

        var response = await client.CallAsync(Create, Definition("by-ops"));

        Assert.True(response.Status == StatusCode.OK, $"{response.Status} {response.Message}");
        Assert.True(fixture.ControlPlane.Registry.TryGet("by-ops", out _));
    }

    [Fact]
    public async Task ChangeByAClientNotOnAdminClients_PermissionDeniedNothingChangedButReadsWork()
    {
        using var client = fixture.Client("someone-else");

        var created = await client.CallAsync(Create, Definition("by-someone-else"));
        var deleted = await client.CallAsync(Delete, new DeleteNamespaceRequest { Name = Fixture.Seeded });
        var listed = await client.CallAsync(List, new ListNamespacesRequest());

        Assert.Equal(StatusCode.PermissionDenied, created.Status);
        Assert.Contains("someone-else", created.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.PermissionDenied, deleted.Status);
        Assert.False(fixture.ControlPlane.Registry.TryGet("by-someone-else", out _));
        Assert.True(fixture.ControlPlane.Registry.TryGet(Fixture.Seeded, out _));
        Assert.Equal(StatusCode.OK, listed.Status);
        Assert.Contains(ListNamespacesResponse.Parser.ParseFrom(Assert.Single(listed.Messages)).Namespaces, n => n.Name == Fixture.Seeded);
    }

    // A name no namespace can have is the caller's mistake, as WriteToLog answers it, not a namespace that is missing.
    [Fact]
    public async Task GetUpdateDelete_NameThatIsNotAValidNamespaceName_InvalidArgument()
    {
        using var client = fixture.Client(Operator);
        const string name = "Not A Name!";

        var responses = new[]
        {
            await client.CallAsync("/wal.v1.NamespaceAdmin/GetNamespace", new GetNamespaceRequest { Name = name }),
            await client.CallAsync(Update, new UpdateNamespaceRequest { Namespace = new NamespaceConfig { Name = name } }),
            await client.CallAsync(Delete, new DeleteNamespaceRequest { Name = name }),
        };

        Assert.All(responses, r => Assert.True(r.Status == StatusCode.InvalidArgument, $"{r.Status} {r.Message}"));
        Assert.All(responses, r => Assert.Contains("not a valid namespace name", r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ChangeWithoutAClientCertificate_Unauthenticated()
    {
        using var client = fixture.Client(null);

        var response = await client.CallAsync(Create, Definition("by-anonymous"));

        Assert.Equal(StatusCode.Unauthenticated, response.Status);
        Assert.False(fixture.ControlPlane.Registry.TryGet("by-anonymous", out _));
    }

    [Fact]
    public async Task CreateNamespace_SameNameConcurrently_ExactlyOneCreated()
    {
        using var client = fixture.Client(Operator);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.CallAsync(Create, Definition("raced"))));

        Assert.Equal(1, responses.Count(r => r.Status == StatusCode.OK));
        Assert.Equal(7, responses.Count(r => r.Status == StatusCode.AlreadyExists));
    }

    [Fact]
    public async Task CreateNamespace_AfterACreateWhoseCallerGaveUp_AlreadyExistsAndTheFirstDefinitionKept()
    {
        // The first caller's deadline (100 ms) passes while its record is read back (hundreds of ms on the embedded
        // cluster). Its change was answered before it was applied, the gate opened, and a second create of the same
        // name passed its check against the stale registry and replaced the first definition.
        using var client = fixture.Client(Operator);
        var first = new CreateNamespaceRequest { Namespace = new NamespaceConfig { Name = "impatient", Partitions = 1 } };
        var second = new CreateNamespaceRequest { Namespace = new NamespaceConfig { Name = "impatient", Partitions = 7 } };

        var hurried = await client.CallAsync(Create, first, m => m.Headers.TryAddWithoutValidation("grpc-timeout", "100m"));
        var next = await client.CallAsync(Create, second);

        Assert.True(next.Status == StatusCode.AlreadyExists, $"first: {hurried.Status}; second: {next.Status} {next.Message}");
        Assert.True(fixture.ControlPlane.Registry.TryGet("impatient", out var kept));
        Assert.Equal(1, kept.Partitions);
    }

    [Fact]
    public async Task CreateNamespace_OnAnotherNamespacesTopic_InvalidArgumentNamingIt()
    {
        using var client = fixture.Client(Operator);

        var response = await client.CallAsync(Create, new CreateNamespaceRequest { Namespace = new NamespaceConfig { Name = "squatter", Topic = $"wal.{Fixture.Seeded}" } });

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
        Assert.Contains($"topic: 'wal.{Fixture.Seeded}' is already the topic of namespace '{Fixture.Seeded}'", response.Message, StringComparison.Ordinal);
        Assert.False(fixture.ControlPlane.Registry.TryGet("squatter", out _));
    }

    [Fact]
    public async Task UpdateNamespace_ChangedPartitions_InvalidArgumentNamingTheFieldAndTheCountKept()
    {
        // Existing topics are never re-created: the update would have named a count the log does not have, or, with a
        // new topic, left the store changelogs on the old count and stopped the topology's stream thread.
        using var client = fixture.Client(Operator);
        Assert.Equal(StatusCode.OK, (await client.CallAsync(Create, new CreateNamespaceRequest { Namespace = new NamespaceConfig { Name = "regrown", Partitions = 2 } })).Status);

        var response = await client.CallAsync(Update, new UpdateNamespaceRequest { Namespace = new NamespaceConfig { Name = "regrown", Partitions = 4 } });

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
        Assert.Contains("partitions: 2 cannot change to 4", response.Message, StringComparison.Ordinal);
        Assert.True(fixture.ControlPlane.Registry.TryGet("regrown", out var kept));
        Assert.Equal(("wal.regrown", 2), (kept.Topic, kept.Partitions));
    }

    // The topology stops reading the old log at the rebuild: what it had not read there yet (its lag, or writes other
    // ingress instances admitted under the old definition) was acknowledged TRUE and never delivered; dead letters on an
    // old dead-letter topic were out of reach of 'wal dlq'. An update that leaves the topic out moved it back to wal.<name>.
    [Fact]
    public async Task UpdateNamespace_MovingItsLogOrDeadLetterTopic_InvalidArgumentNamingTheFieldNothingChanged()
    {
        using var client = fixture.Client(Operator);
        Assert.Equal(StatusCode.OK, (await client.CallAsync(Create, new CreateNamespaceRequest
        {
            Namespace = new NamespaceConfig { Name = "mover", Topic = "mover-log", Partitions = 2 },
        })).Status);

        var moved = await client.CallAsync(Update, new UpdateNamespaceRequest { Namespace = new NamespaceConfig { Name = "mover", Topic = "mover-log-v2", Partitions = 2 } });
        var leftOut = await client.CallAsync(Update, new UpdateNamespaceRequest { Namespace = new NamespaceConfig { Name = "mover", Partitions = 2 } });
        var deadLetters = await client.CallAsync(Update, new UpdateNamespaceRequest
        {
            Namespace = new NamespaceConfig { Name = "mover", Topic = "mover-log", DeadLetterTopic = "mover-dlq-v2", Partitions = 2 },
        });
        var policy = await client.CallAsync(Update, new UpdateNamespaceRequest { Namespace = new NamespaceConfig { Name = "mover", Topic = "mover-log", Partitions = 2, MaxPayloadBytes = 4096 } });

        Assert.Equal(StatusCode.InvalidArgument, moved.Status);
        Assert.Contains("topic: 'mover-log' cannot change to 'mover-log-v2'", moved.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, leftOut.Status);
        Assert.Contains("topic: 'mover-log' cannot change to 'wal.mover'", leftOut.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, deadLetters.Status);
        Assert.Contains("dead_letter_topic: 'wal.mover.dlq' cannot change to 'mover-dlq-v2'", deadLetters.Message, StringComparison.Ordinal);
        Assert.True(policy.Status == StatusCode.OK, $"{policy.Status} {policy.Message}");
        Assert.True(fixture.ControlPlane.Registry.TryGet("mover", out var kept));
        Assert.Equal(("mover-log", "wal.mover.dlq", 4096L), (kept.Topic, kept.DeadLetterTopic, kept.MaxPayloadBytes));
    }

    // The ingress would write entries into Kafka's own topics, or into a state store's changelog that the topology then
    // read as a log and restored its store from.
    [Theory]
    [InlineData("__consumer_offsets", "one of Kafka's internal topics")]
    [InlineData("wal-topology-seeded-timers-changelog", "a topic of the topology 'wal-topology'")]
    public async Task CreateNamespace_OnATopicKafkaOrTheTopologyKeepsItsStateIn_InvalidArgument(string topic, string why)
    {
        using var client = fixture.Client(Operator);

        var log = await client.CallAsync(Create, new CreateNamespaceRequest { Namespace = new NamespaceConfig { Name = "squat-log-" + topic.Length, Topic = topic } });
        var deadLetters = await client.CallAsync(Create, new CreateNamespaceRequest { Namespace = new NamespaceConfig { Name = "squat-dlq-" + topic.Length, DeadLetterTopic = topic } });

        Assert.Equal(StatusCode.InvalidArgument, log.Status);
        Assert.Contains($"topic: '{topic}', {why}", log.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, deadLetters.Status);
        Assert.Contains($"dead_letter_topic: '{topic}', {why}", deadLetters.Message, StringComparison.Ordinal);
        Assert.False(fixture.ControlPlane.Registry.TryGet("squat-log-" + topic.Length, out _));
    }

    [Fact]
    public async Task UpdateNamespace_DefinitionNamingACountItsLogLacks_TakesOnlyTheLogsCount()
    {
        // Written around the admin calls (or by a version before the refusal): the definition says 3, the log has 2. The
        // topic check asked for 2 and the refusal of a changed count refused 2, so only a delete and create got out.
        fixture.Kafka.CreateTopic("wal.miscounted", partitions: 2);
        fixture.Kafka.CreateTopic("wal.miscounted-moved", partitions: 4);
        await fixture.WriteAroundTheAdminCallsAsync(new NamespaceConfig { Name = "miscounted", Partitions = 3 });
        await Eventually.WaitUntilAsync(() => fixture.ControlPlane.Registry.TryGet("miscounted", out _), TimeSpan.FromSeconds(20), "the definition written around the admin calls");
        using var client = fixture.Client(Operator);

        var elsewhere = await client.CallAsync(Update, new UpdateNamespaceRequest { Namespace = new NamespaceConfig { Name = "miscounted", Partitions = 4 } });
        var moved = await client.CallAsync(Update, new UpdateNamespaceRequest
        {
            Namespace = new NamespaceConfig { Name = "miscounted", Topic = "wal.miscounted-moved", Partitions = 4 },
        });
        var toTheLogs = await client.CallAsync(Update, new UpdateNamespaceRequest { Namespace = new NamespaceConfig { Name = "miscounted", Partitions = 2 } });

        Assert.Equal(StatusCode.InvalidArgument, elsewhere.Status);
        Assert.Contains("partitions: 3 cannot change to 4", elsewhere.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, moved.Status);
        Assert.True(toTheLogs.Status == StatusCode.OK, $"{toTheLogs.Status} {toTheLogs.Message}");
        Assert.True(fixture.ControlPlane.Registry.TryGet("miscounted", out var corrected));
        Assert.Equal(2, corrected.Partitions);
    }

    [Fact]
    public async Task CreateNamespace_KafkaNotAnsweringThePreparation_UnavailableAndNothingPublished()
    {
        // What the topic check and creation throw when no broker answers within their timeout.
        fixture.Prepare = (_, _) => throw new KafkaException(new Error(ErrorCode.Local_Transport));
        try
        {
            using var client = fixture.Client(Operator);

            var response = await client.CallAsync(Create, Definition("unprepared"));

            Assert.Equal(StatusCode.Unavailable, response.Status);
            Assert.Contains("namespace 'unprepared'", response.Message, StringComparison.Ordinal);
            Assert.False(fixture.ControlPlane.Registry.TryGet("unprepared", out _));
        }
        finally
        {
            fixture.Prepare = null;
        }
    }

    [Fact]
    public async Task CreateNamespace_KafkaRefusesToCreateItsTopics_FailedPreconditionWithKafkasReasonNothingPublished()
    {
        // What topic creation throws when Kafka answers and refuses (an ACL, a create policy, a partition count over the
        // broker's limit): no retry will do, and the caller needs Kafka's reason to act on it.
        fixture.Prepare = (_, _) => throw new Confluent.Kafka.Admin.CreateTopicsException(
        [
            new Confluent.Kafka.Admin.CreateTopicReport { Topic = "wal.refused", Error = new Error(ErrorCode.TopicAuthorizationFailed, "Authorization failed.") },
            new Confluent.Kafka.Admin.CreateTopicReport { Topic = "wal.refused.dlq", Error = new Error(ErrorCode.NoError) },
        ]);
        try
        {
            using var client = fixture.Client(Operator);

            var response = await client.CallAsync(Create, Definition("refused"));

            Assert.True(response.Status == StatusCode.FailedPrecondition, $"{response.Status} {response.Message}");
            Assert.Contains("'wal.refused'", response.Message, StringComparison.Ordinal);
            Assert.Contains("Authorization failed.", response.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("wal.refused.dlq", response.Message, StringComparison.Ordinal);
            Assert.False(fixture.ControlPlane.Registry.TryGet("refused", out _));
        }
        finally
        {
            fixture.Prepare = null;
        }
    }

    [Fact]
    public async Task CreateNamespace_KafkaRefusesTheControlPlaneRecord_AnsweredWithKafkasReasonNotInternal()
    {
        // An ACL that lets the ingress create topics but not write the control-plane topic: the change is refused by
        // Kafka, an outcome the caller must act on, which INTERNAL ("the handler failed") kept in this instance's log.
        fixture.Kafka.PushRequestErrors(KafkaApi.Produce, 29); // TOPIC_AUTHORIZATION_FAILED: not retried
        using var client = fixture.Client(Operator);

        var response = await client.CallAsync(Create, Definition("unwritable"));

        Assert.True(response.Status == StatusCode.FailedPrecondition, $"{response.Status} {response.Message}");
        Assert.Contains(ControlPlaneOptions.DefaultTopic, response.Message, StringComparison.Ordinal);
        Assert.Contains("authoriz", response.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(fixture.ControlPlane.Registry.TryGet("unwritable", out _));
        // librdkafka fails the topic's next records at once for a while after such a refusal: the shared fixture's
        // other tests must find it writing again.
        await Eventually.WaitUntilAsync(
            async () => (await client.CallAsync(Create, Definition("unwritable"))).Status == StatusCode.OK,
            TimeSpan.FromSeconds(60), "a create through the same control plane to succeed once Kafka takes its records again", TimeSpan.FromMilliseconds(500));
    }

    private static CreateNamespaceRequest Definition(string name) => new() { Namespace = new NamespaceConfig { Name = name } };

    /// <summary>An ingress with mutual TLS (a client certificate optional), AdminClients = ops, and the admin calls over a control plane.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public const string Seeded = "seeded";

        private readonly TestCertificates _certificates = new();
        private EmbeddedKafkaCluster _kafka = null!;
        private WebApplication _app = null!;

        public ControlPlane ControlPlane { get; private set; } = null!;

        public EmbeddedKafkaCluster Kafka => _kafka;

        /// <summary>What the admin calls run before publishing, as the CLI's topic check and creation; none when null.</summary>
        public Func<NamespaceConfig, CancellationToken, Task>? Prepare { get; set; }

        /// <summary>Publishes a definition straight to the control-plane topic, unchecked, as another writer could.</summary>
        public async Task WriteAroundTheAdminCallsAsync(NamespaceConfig definition)
        {
            using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, Acks = Acks.All }).Build();
            await producer.ProduceAsync(ControlPlaneOptions.DefaultTopic, new Message<string, byte[]> { Key = definition.Name, Value = definition.ToByteArray() });
        }

        public GrpcTestClient Client(string? name) =>
            new(_app.GetGrpcAddress(), handler: _certificates.Handler(name is null ? null : _certificates.Client(name)));

        public async Task InitializeAsync()
        {
            _kafka = EmbeddedKafkaCluster.Start(1);
            var options = new ControlPlaneOptions { BootstrapServers = _kafka.BootstrapServers };
            _kafka.CreateTopic(options.Topic);
            ControlPlane = new ControlPlane(options, new NamespaceRegistry([]));
            await ControlPlane.StartAsync();
            await ControlPlane.PutAsync(new NamespaceConfig { Name = Seeded });
            _app = IngressHost.Build(
                new IngressOptions
                {
                    Port = 0,
                    AdminPort = -1,
                    BootstrapServers = _kafka.BootstrapServers,
                    TlsCertificatePath = _certificates.ServerCertificatePath,
                    TlsKeyPath = _certificates.ServerKeyPath,
                    ClientCaPath = _certificates.CaPath,
                    RequireClientCertificate = false,
                    AdminClients = [Operator],
                },
                ControlPlane.Registry,
                b => b.Logging.ClearProviders());
            _app.MapNamespaceAdmin(ControlPlane, (ns, ct) => Prepare?.Invoke(ns, ct) ?? Task.CompletedTask);
            await _app.StartAsync();
        }

        public async Task DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            await ControlPlane.DisposeAsync();
            _kafka.Dispose();
            _certificates.Dispose();
        }
    }
}
