using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>What the ingress keeps per namespace goes with the namespace: none of it outlives a delete.</summary>
public sealed class DeletedNamespaceStateTests : IAsyncLifetime
{
    private const string Name = "comeback";

    private static readonly NamespaceConfig Definition = new()
    {
        Name = Name,
        Quota = new Quota { WritesPerSecond = 0.001, Burst = 1 },
        DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "main", Key = "comeback-key" } },
    };

    private IngressTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await IngressTestHost.StartAsync(brokers: 1);
        _host.Registry.Upsert(Definition);
        _host.Kafka.CreateTopic(_host.TopicOf(Name), partitions: 1, replicationFactor: 1);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task WriteToLog_NamespaceDeletedAndCreatedAgain_StartsWithAFullRateBucket()
    {
        using var client = new GrpcTestClient(_host.Address);
        var first = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("first"));
        var overRate = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("over-rate"));

        _host.Registry.Remove(Name);
        _host.Registry.Upsert(Definition);
        var afterRecreate = await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("after-recreate"));

        Assert.Equal(StatusCode.OK, first.Status);
        Assert.Equal(StatusCode.ResourceExhausted, overRate.Status);
        Assert.True(afterRecreate.Status == StatusCode.OK, $"{afterRecreate.Status} {afterRecreate.Message}");
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(afterRecreate.Messages)).Durable);
    }

    [Fact]
    public async Task Metrics_NamespaceDeleted_NoSeriesOfItIsExported()
    {
        using var client = new GrpcTestClient(_host.Address);
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders });
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("counted"));
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("shed"));
        var before = await MetricsAsync();

        _host.Registry.Remove(Name);
        var after = await MetricsAsync();

        Assert.Contains($"wal_ingress_in_flight_bytes{{namespace=\"{Name}\"}} 0", before, StringComparison.Ordinal);
        Assert.Contains($"wal_ingress_shed_total{{namespace=\"{Name}\",reason=\"rate\"}} 1", before, StringComparison.Ordinal);
        Assert.DoesNotContain($"namespace=\"{Name}\"", after, StringComparison.Ordinal);
        Assert.Contains($"namespace=\"{TestNamespaces.Orders}\"", after, StringComparison.Ordinal);
    }

    // A write admitted before its namespace is deleted and answered after brings the namespace's series back; the next
    // change of the registry was the only sweep, and it may never come. /metrics sweeps before it renders.
    [Fact]
    public async Task Metrics_WriteAnsweredAfterItsNamespaceWasDeleted_NoSeriesOfItIsExported()
    {
        using var client = new GrpcTestClient(_host.Address);
        // Warms the producer's connection, so that only the broker's slowness keeps the next write in flight.
        await client.CallAsync(WriteAheadLogService.WriteToLogPath, new WriteToLogRequest { Namespace = TestNamespaces.Orders });
        _host.Kafka.SetBrokerRoundTrip(1, TimeSpan.FromSeconds(2));
        var write = client.CallAsync(WriteAheadLogService.WriteToLogPath, Write("late"));
        await Eventually.WaitUntilAsync(async () => (await MetricsAsync()).Contains($"wal_ingress_in_flight{{namespace=\"{Name}\"}} 1", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the write in flight");

        _host.Registry.Remove(Name);
        var answer = await write.WaitAsync(TimeSpan.FromSeconds(20));
        _host.Kafka.SetBrokerRoundTrip(1, TimeSpan.Zero);
        var after = await MetricsAsync();

        Assert.Equal(StatusCode.OK, answer.Status);
        Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(Assert.Single(answer.Messages)).Durable);
        Assert.DoesNotContain($"namespace=\"{Name}\"", after, StringComparison.Ordinal);
    }

    private static WriteToLogRequest Write(string id) => new() { Namespace = Name, Id = id, Payload = ByteString.CopyFromUtf8(id) };

    private async Task<string> MetricsAsync()
    {
        using var http = new HttpClient { BaseAddress = _host.App.GetAdminAddress() };
        return await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    }
}
