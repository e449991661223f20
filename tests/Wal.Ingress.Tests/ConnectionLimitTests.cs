using System.Net;
using Microsoft.Extensions.Logging;
using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>MaxConnections on the gRPC port: one connection over it is closed on arrival and said in the log once, the admin port stays open.</summary>
public sealed class ConnectionLimitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Connect_BeyondMaxConnections_ClosedOnArrivalCountedAdminStillAnswersRoomComesBack()
    {
        using var logs = new ListLoggerProvider();
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.MaxConnections = 2, logs: logs);
        var first = new GrpcTestClient(host.Address);
        using var second = new GrpcTestClient(host.Address);
        Assert.Equal(Trilean.True, await WriteAsync(first, "first"));
        Assert.Equal(Trilean.True, await WriteAsync(second, "second"));

        using (var third = new GrpcTestClient(host.Address))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => WriteAsync(third, "third"));
        }

        // Said once, and not again for the next one refused: a flood must not flood the log too.
        Assert.Contains("Closed 1 new connection(s) on the gRPC port since the last such warning: 2 were open (MaxConnections)", Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning).Message, StringComparison.Ordinal);
        using (var fifth = new GrpcTestClient(host.Address))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => WriteAsync(fifth, "fifth"));
        }

        Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning);

        using var admin = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/healthz")).StatusCode);
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains("wal_ingress_connections 2\n", metrics, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_connections_refused_total 2\n", metrics, StringComparison.Ordinal);

        // A connection that closes gives its room back.
        first.Dispose();
        await Eventually.WaitUntilAsync(async () => (await admin.GetStringAsync("/metrics")).Contains("wal_ingress_connections 1\n", StringComparison.Ordinal), Deadline, "the first connection's room given back");
        using var fourth = new GrpcTestClient(host.Address);
        Assert.Equal(Trilean.True, await WriteAsync(fourth, "fourth"));
        Assert.DoesNotContain(host.ReadAll(host.TopicOf(TestNamespaces.Orders)).Select(r => r.Entry.Id), id => id is "third" or "fifth");
    }

    private static async Task<Trilean> WriteAsync(GrpcTestClient client, string id)
    {
        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Id = id, Payload = ByteString.CopyFromUtf8(id) });
        Assert.Equal(StatusCode.OK, response.Status);
        return WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages)).Durable;
    }
}
