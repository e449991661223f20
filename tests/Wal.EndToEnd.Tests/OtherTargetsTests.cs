using System.Text;
using System.Threading.Channels;
using Confluent.Kafka;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Wal.Client;
using Wal.Schemas.V1;

namespace Wal.EndToEnd.Tests;

/// <summary>
/// The targets besides memcached, through the stack <c>wal up</c> runs: a Kafka topic on its cluster and an
/// upstream application (Kestrel on a free port). Before, the running topology had only a memcached sink, and
/// every other target was dead-lettered as "no sink configured".
/// </summary>
public sealed class OtherTargetsTests(LocalStackFixture wal) : IClassFixture<LocalStackFixture>
{
    private static readonly TimeSpan DeliveryDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WriteToLog_KafkaTarget_RecordArrivesInTheTopicWithItsKeyAndDeliveryId()
    {
        var topic = $"e2e-out-{Guid.NewGuid():N}";
        wal.Stack.Kafka.CreateTopic(topic);
        using var client = new WalClient(new WalClientOptions { Address = wal.IngressAddress });

        var response = await client.WriteToLogAsync(new WriteToLogRequest
        {
            Namespace = "demo",
            Payload = ByteString.CopyFromUtf8("to kafka"),
            Target = new Target { Kafka = new KafkaTarget { Topic = topic, Key = ByteString.CopyFromUtf8("order-7") } },
        });

        Assert.Equal(Trilean.True, response.Durable);
        var record = Assert.Single(Read(topic, 1));
        Assert.Equal("order-7", Encoding.UTF8.GetString(record.Key));
        Assert.Equal("to kafka", Encoding.UTF8.GetString(record.Value));
        Assert.Equal(response.Id, Encoding.UTF8.GetString(record.Headers.GetLastBytes(UpstreamTargetRules.DeliveryIdHeader)));
    }

    [Fact]
    public async Task WriteToLog_UpstreamTarget_PostedToTheApplicationWithItsHeaders()
    {
        var received = Channel.CreateUnbounded<(string Body, string Id, string Tenant)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            await received.Writer.WriteAsync((await reader.ReadToEndAsync(), request.Headers[UpstreamTargetRules.DeliveryIdHeader].ToString(), request.Headers["X-Tenant"].ToString()));
            return Results.Ok();
        });
        await app.StartAsync();
        using var client = new WalClient(new WalClientOptions { Address = wal.IngressAddress });
        var target = new UpstreamTarget { Url = $"{app.Urls.Single()}/hook", Headers = { ["X-Tenant"] = "blue" } };

        var response = await client.WriteToLogAsync(new WriteToLogRequest
        {
            Namespace = "demo",
            Payload = ByteString.CopyFromUtf8("to upstream"),
            Target = new Target { Upstream = target },
        });

        Assert.Equal(Trilean.True, response.Durable);
        using var deadline = new CancellationTokenSource(DeliveryDeadline);
        var (body, id, tenant) = await received.Reader.ReadAsync(deadline.Token).AsTask()
            .ContinueWith(t => t.IsCanceled ? throw new TimeoutException($"No request reached the upstream within {DeliveryDeadline.TotalSeconds} s.") : t.Result, TaskScheduler.Default);
        Assert.Equal("to upstream", body);
        Assert.Equal(response.Id, id);
        Assert.Equal("blue", tenant);
    }

    [Fact]
    public async Task KafkaTargetIntoTheControlPlane_RefusedAtTheIngressAndDeadLetteredByTheTopology()
    {
        // A writer allowed into 'demo' must not define namespaces (no admin check) by aiming a Kafka target at the
        // control-plane topic of Wal's own cluster, where targets naming no cluster go.
        var definition = new NamespaceConfig { Name = "injected", Topic = "wal.injected" }.ToByteString();
        var target = new Target { Kafka = new KafkaTarget { Topic = "wal.namespaces", Key = ByteString.CopyFromUtf8("injected") } };
        using var client = new WalClient(new WalClientOptions { Address = wal.IngressAddress });

        var refused = await client.WriteToLogAsync(new WriteToLogRequest { Namespace = "demo", Payload = definition, Target = target });

        Assert.Equal(Trilean.False, refused.Durable);
        Assert.Contains("control-plane topic", refused.Message, StringComparison.Ordinal);

        // The same entry already in the log (written before the rule, or not through the ingress): the sink refuses it.
        var id = $"forged-{Guid.NewGuid():N}";
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = wal.Stack.Kafka.BootstrapServers }).Build())
        {
            var entry = new LogEntry { Id = id, Namespace = "demo", Payload = definition, Target = target, AcceptedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
            await producer.ProduceAsync("wal.demo", new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(id), Value = entry.ToByteArray() });
        }

        var dead = Read("wal.demo.dlq", 1, r => r.Key is { } key && Encoding.UTF8.GetString(key) == id);
        Assert.Contains("control-plane topic", Encoding.UTF8.GetString(dead.Single().Headers.GetLastBytes(Wal.Topology.Dispatch.DeadLetterHeaders.Error)), StringComparison.Ordinal);
        Assert.False(wal.Stack.Namespaces.TryGet("injected", out _));
    }

    private List<Message<byte[], byte[]>> Read(string topic, int count, Func<Message<byte[], byte[]>, bool>? wanted = null)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = wal.Stack.Kafka.BootstrapServers,
            GroupId = $"e2e-reader-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var records = new List<Message<byte[], byte[]>>();
        var until = DateTime.UtcNow + DeliveryDeadline;
        while (records.Count < count && DateTime.UtcNow < until)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result && (wanted is null || wanted(result.Message)))
            {
                records.Add(result.Message);
            }
        }

        Assert.True(records.Count >= count, $"{records.Count} of {count} record(s) reached {topic} within {DeliveryDeadline.TotalSeconds} s");
        return records;
    }
}
