using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

public sealed class AdminEndpointsTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    // CLUSTER_AUTHORIZATION_FAILED
    private const int FatalInitError = 31;

    private IngressTestHost Host => fixture.Host;

    [Fact]
    public async Task Metrics_AfterWrites_PromtoolAcceptsAndOutcomesAreCounted()
    {
        using var client = new GrpcTestClient(Host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Payload = ByteString.CopyFromUtf8("ok") });
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Payload = ByteString.CopyFrom(new byte[TestNamespaces.OrdersMaxPayload + 1]) });
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = "made-up-name" });
        await client.SendAsync(WriteAheadLogService.WriteToLogStreamPath, GrpcTestClient.Frame(new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = 1 }));

        var text = await GetAsync("/metrics", HttpStatusCode.OK);

        Assert.Contains("wal_ingress_requests_total{method=\"WriteToLog\",namespace=\"orders\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_requests_total{method=\"WriteToLogStream\",namespace=\"orders\"}", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE wal_ingress_writes_total counter", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_writes_total{durable=\"true\",namespace=\"orders\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_writes_total{durable=\"false\",namespace=\"orders\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_writes_total{durable=\"false\",namespace=\"(unknown)\"}", text, StringComparison.Ordinal);
        // The made-up names' label can never be a namespace's: a namespace called "unknown" used to count their calls.
        Assert.False(Wal.Namespaces.NamespaceValidator.IsValidName(IngressMetrics.UnknownNamespace));
        Assert.DoesNotContain("made-up-name", text, StringComparison.Ordinal);
        // A refusal's duration is kept apart from the durable writes' (the oversized payload above is FALSE at once).
        Assert.Contains("wal_ingress_write_duration_seconds_bucket{durable=\"true\",namespace=\"orders\",le=\"+Inf\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_write_duration_seconds_bucket{durable=\"false\",namespace=\"orders\",le=\"+Inf\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_in_flight_bytes{namespace=\"orders\"} 0", text, StringComparison.Ordinal);
        var (exitCode, output) = await PromtoolCheckAsync(text);
        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}): {output}\n{text}");
    }

    [Fact]
    public async Task Healthz_Running_Ok() => Assert.Equal("ok\n", await GetAsync("/healthz", HttpStatusCode.OK));

    [Fact]
    public async Task Readyz_KafkaUpAndNamespacesLoaded_Ready() => Assert.Equal("ready\n", await GetAsync("/readyz", HttpStatusCode.OK));

    [Fact]
    public async Task Readyz_NoNamespacesYet_ReadyForTheAdminCallThatCreatesOne()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1);
        foreach (var ns in host.Registry.All.ToList())
        {
            host.Registry.Remove(ns.Name);
        }

        using var http = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        using var response = await http.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/readyz answered {response.StatusCode}: {body}");
        Assert.Contains("no namespaces yet", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_AllBrokersDown_ServiceUnavailable()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProduceTimeout = TimeSpan.FromSeconds(1));
        host.Kafka.SetBrokerDown(1);

        // The mock takes the broker down on its own thread: poll until readiness follows.
        var body = await ReadyzOnceUnavailableAsync(host);

        Assert.Contains("Kafka is not reachable", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadyzAndHealthz_ProducerFailedFatally_ServiceUnavailableAndWritesRefused()
    {
        // Every InitProducerId refused: the idempotent producer cannot get an id and fails for good.
        await using var host = await IngressTestHost.StartAsync(
            brokers: 1,
            o => o.ProduceTimeout = TimeSpan.FromSeconds(2),
            k => k.PushRequestErrors(Kafka.Embedded.KafkaApi.InitProducerId, Enumerable.Repeat(FatalInitError, 50).ToArray()));
        using var client = new GrpcTestClient(host.Address);
        var first = WriteAsync(client, "first");

        var body = await ReadyzOnceUnavailableAsync(host);
        var afterFatal = await WriteAsync(client, "after-fatal");
        using var http = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Contains("failed fatally", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("failed fatally", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotEqual(Trilean.True, (await first).Durable);
        Assert.Equal(Trilean.False, afterFatal.Durable);
        Assert.Equal(0, host.CountRecords(host.TopicOf(TestNamespaces.Orders)));
    }

    // The admin endpoints are the admin port's: AdminPort -1 turns them off, and the gRPC port, the one callers from
    // elsewhere reach (over TLS with a client certificate of any namespace's writer), serves gRPC and nothing else.
    [Theory]
    [InlineData("/metrics")]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task AdminPath_OnTheGrpcPort_NotFound(string path)
    {
        using var http = new HttpClient
        {
            BaseAddress = Host.Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var admin = new HttpClient { BaseAddress = Host.App.GetAdminAddress() };

        using var onGrpcPort = await http.GetAsync(path);
        using var onAdminPort = await admin.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, onGrpcPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, onAdminPort.StatusCode);
    }

    private static async Task<WriteToLogResponse> WriteAsync(GrpcTestClient client, string id)
    {
        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Id = id, Payload = ByteString.CopyFromUtf8(id) });
        Assert.True(response.Status == StatusCode.OK, $"{id}: {response.Status} {response.Message}");
        return WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages));
    }

    private static async Task<string> ReadyzOnceUnavailableAsync(IngressTestHost host)
    {
        using var http = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            using var response = await http.GetAsync("/readyz");
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return body;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/readyz still answers {response.StatusCode}: {body}");
            await Task.Delay(100);
        }
    }

    private async Task<string> GetAsync(string path, HttpStatusCode expected)
    {
        using var http = new HttpClient { BaseAddress = Host.App.GetAdminAddress() };
        using var response = await http.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<(int ExitCode, string Output)> PromtoolCheckAsync(string metrics)
    {
        const string promtool = "/usr/bin/promtool";
        Assert.True(File.Exists(promtool), $"{promtool} is missing: apt-get install prometheus");
        var (exitCode, stdout, stderr) = await ChildProcess.RunAsync(new ProcessStartInfo(promtool, ["check", "metrics"]), TimeSpan.FromSeconds(60), metrics);
        return (exitCode, stdout + stderr);
    }
}
