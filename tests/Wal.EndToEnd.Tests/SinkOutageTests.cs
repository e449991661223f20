using Google.Protobuf;
using Wal.Grpc;
using Wal.Ingress.Tests;
using Wal.Schemas.V1;

namespace Wal.EndToEnd.Tests;

/// <summary>A target that is down holds acknowledged writes on the retry path; nothing is lost or dead-lettered.</summary>
public sealed class SinkOutageTests(LocalStackFixture wal) : IClassFixture<LocalStackFixture>
{
    private const string WriteToLog = "/wal.v1.WriteAheadLog/WriteToLog";

    [Fact]
    public async Task WriteToLog_WhileMemcachedIsDown_IsDeliveredWhenItReturns()
    {
        var keys = Enumerable.Range(0, 5).Select(i => $"outage-{i}-{Guid.NewGuid():N}").ToList();
        var deadLettersBefore = wal.RecordCount("wal.demo.dlq");
        var timersBefore = wal.RecordCount("wal-topology-demo-timers-changelog");

        await wal.Stack.StopMemcachedAsync();
        try
        {
            foreach (var key in keys)
            {
                var result = await PythonGrpcClient.CallAsync(wal.IngressAddress, WriteToLog, new WriteToLogRequest
                {
                    Namespace = "demo",
                    Payload = ByteString.CopyFromUtf8("kept for " + key),
                    Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = key } },
                });
                Assert.Equal(StatusCode.OK, result.Code);
                Assert.Equal(Trilean.True, WriteToLogResponse.Parser.ParseFrom(result.Response).Durable);
            }

            // Keep the target down until every write has failed at least twice. Each failed
            // attempt is visible in the timer store's changelog: the first puts a retry timer,
            // each later one deletes the fired timer (a tombstone) and puts the next.
            var changelog = "wal-topology-demo-timers-changelog";
            var target = timersBefore + (3 * keys.Count);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (wal.RecordCount(changelog) < target)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the writes were not retried while memcached was down ({wal.RecordCount(changelog)} of {target} timer changes)");
                await Task.Delay(50);
            }
        }
        finally
        {
            await wal.Stack.StartMemcachedAsync();
        }

        foreach (var key in keys)
        {
            var (value, _) = await wal.WaitForDeliveryAsync(key, TimeSpan.FromSeconds(60));
            Assert.Equal("kept for " + key, System.Text.Encoding.UTF8.GetString(value));
        }

        Assert.Equal(deadLettersBefore, wal.RecordCount("wal.demo.dlq"));
    }
}
