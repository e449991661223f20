using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

public sealed class AdminEndpointsTests(IngressFixture fixture) : IClassFixture<IngressFixture>
{
    private IngressTestHost Host => fixture.Host;

    [Fact]
    public async Task Metrics_AfterWrites_PromtoolAcceptsAndOutcomesAreCounted()
    {
        using var client = new GrpcTestClient(Host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Payload = ByteString.CopyFromUtf8("ok") });
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Payload = ByteString.CopyFrom(new byte[TestNamespaces.OrdersMaxPayload + 1]) });
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = "made-up-name" });

        var text = await GetAsync("/metrics", HttpStatusCode.OK);

        Assert.Contains("# TYPE wal_ingress_writes_total counter", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_writes_total{durable=\"true\",namespace=\"orders\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_writes_total{durable=\"false\",namespace=\"orders\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_writes_total{durable=\"false\",namespace=\"unknown\"}", text, StringComparison.Ordinal);
        Assert.DoesNotContain("made-up-name", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_write_duration_seconds_bucket{namespace=\"orders\",le=\"+Inf\"}", text, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_in_flight_bytes{namespace=\"orders\"} 0", text, StringComparison.Ordinal);
        var (exitCode, output) = await PromtoolCheckAsync(text);
        Assert.True(exitCode == 0, $"promtool check metrics failed ({exitCode}): {output}\n{text}");
    }

    [Fact]
    public async Task Healthz_Running_Ok() => Assert.Equal("ok\n", await GetAsync("/healthz", HttpStatusCode.OK));

    [Fact]
    public async Task Readyz_KafkaUpAndNamespacesLoaded_Ready() => Assert.Equal("ready\n", await GetAsync("/readyz", HttpStatusCode.OK));

    [Fact]
    public async Task Readyz_AllBrokersDown_ServiceUnavailable()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.ProduceTimeout = TimeSpan.FromSeconds(1));
        host.Kafka.SetBrokerDown(1);
        using var http = new HttpClient { BaseAddress = host.App.GetAdminAddress() };

        using var response = await http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Kafka", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
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
        var start = new ProcessStartInfo(promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(metrics);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
