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

            // Keep the target down across several attempts (the demo namespace retries after
            // 0.1, 0.2, 0.4, 0.8 s ...): this sets up the outage, it does not decide the outcome.
            await Task.Delay(TimeSpan.FromSeconds(2));
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
