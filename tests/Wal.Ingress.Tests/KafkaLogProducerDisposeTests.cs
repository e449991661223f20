using Microsoft.Extensions.Logging;
using Wal.Grpc.Tests;
using Wal.Kafka.Embedded;

namespace Wal.Ingress.Tests;

/// <summary>What a stopping producer tells the operator about the writes Kafka never answered.</summary>
public sealed class KafkaLogProducerDisposeTests
{
    private const string Topic = "orders";

    [Fact]
    public void Dispose_BrokerDownWithWritesUnanswered_WarnsWithTheirCount()
    {
        using var kafka = EmbeddedKafkaCluster.Start(1);
        kafka.CreateTopic(Topic);
        using var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var options = new IngressOptions { BootstrapServers = kafka.BootstrapServers, ProduceTimeout = TimeSpan.FromMilliseconds(200) };
        // The records outlive the final flush, so it cannot answer them by their timeout: exactly three are left.
        options.ProducerSettings["message.timeout.ms"] = "60000";
        var producer = new KafkaLogProducer(options, loggers.CreateLogger<KafkaLogProducer>());
        kafka.SetBrokerDown(1);
        for (var i = 0; i < 3; i++)
        {
            _ = producer.ProduceAsync(Topic, [(byte)i], [(byte)i], Topic, null);
        }

        producer.Dispose();

        var warning = Assert.Single(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("unanswered", StringComparison.Ordinal));
        Assert.Contains("3 write(s)", warning.Message, StringComparison.Ordinal);
    }
}
