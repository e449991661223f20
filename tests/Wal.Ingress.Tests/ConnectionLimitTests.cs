using System.Net;
using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>MaxConnections on the gRPC port: one connection over it is closed on arrival, the admin port stays open.</summary>
public sealed class ConnectionLimitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Connect_BeyondMaxConnections_ClosedOnArrivalCountedAdminStillAnswersRoomComesBack()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, o => o.MaxConnections = 2);
        var first = new GrpcTestClient(host.Address);
        using var second = new GrpcTestClient(host.Address);
        Assert.Equal(Trilean.True, await WriteAsync(first, "first"));
        Assert.Equal(Trilean.True, await WriteAsync(second, "second"));

        using (var third = new GrpcTestClient(host.Address))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => WriteAsync(third, "third"));
        }

        using var admin = new HttpClient { BaseAddress = host.App.GetAdminAddress() };
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/healthz")).StatusCode);
        var metrics = await admin.GetStringAsync("/metrics");
        Assert.Contains("wal_ingress_connections 2\n", metrics, StringComparison.Ordinal);
        Assert.Contains("wal_ingress_connections_refused_total 1\n", metrics, StringComparison.Ordinal);

        // A connection that closes gives its room back.
        first.Dispose();
        await Eventually.WaitUntilAsync(async () => (await admin.GetStringAsync("/metrics")).Contains("wal_ingress_connections 1\n", StringComparison.Ordinal), Deadline, "the first connection's room given back");
        using var fourth = new GrpcTestClient(host.Address);
        Assert.Equal(Trilean.True, await WriteAsync(fourth, "fourth"));
        Assert.DoesNotContain("third", host.ReadAll(host.TopicOf(TestNamespaces.Orders)).Select(r => r.Entry.Id));
    }

    private static async Task<Trilean> WriteAsync(GrpcTestClient client, string id)
    {
        var response = await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders, Id = id, Payload = ByteString.CopyFromUtf8(id) });
        Assert.Equal(StatusCode.OK, response.Status);
        return WriteToLogResponse.Parser.ParseFrom(Assert.Single(response.Messages)).Durable;
    }
}
