using Microsoft.Extensions.Logging.Abstractions;
using Wal.Cli.Commands;
using Wal.Cli.Local;
using Wal.Kafka.Embedded;
using Wal.Namespaces;
using Wal.Streams;

namespace Wal.Cli.Tests.Serving;

/// <summary>
/// <c>wal up</c> and <c>wal ingress</c> when the ingress's idempotent producer fails fatally: it refuses every write from
/// then on and nothing in the process revives it, so they stop and say why, as a supervisor needs them to.
/// </summary>
public sealed class ProducerFatalErrorTests
{
    // OUT_OF_ORDER_SEQUENCE_NUMBER answering an idempotent producer's first batch: the broker lost what the producer
    // knows it wrote, so librdkafka fails the producer for good. Nothing but the test's write produces meanwhile (the
    // topology and the control plane are idle), so the one error pushed meets the ingress's producer.
    private const int FatalProduceError = 45;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private static readonly string SeedFile = Path.Combine(AppContext.BaseDirectory, "repo", "config", "namespaces.json");

    [Fact]
    public async Task Up_IngressProducerFailsFatally_StopsEverythingAndExitsFailedNamingTheError()
    {
        using var timeout = new CancellationTokenSource(Deadline);
        using var error = new StringWriter();
        var stack = await LocalStack.StartAsync(
            new LocalStackOptions
            {
                NamespacesFile = SeedFile, Brokers = 1, IngressPort = 0, AdminPort = -1, MemcachedPort = 0,
                StateDirectory = Path.Combine(Path.GetTempPath(), $"wal-up-fatal-{Guid.NewGuid():N}"),
            },
            NullLoggerFactory.Instance,
            timeout.Token);
        int exit;
        var ingressPort = stack.IngressAddress.Port;
        var memcachedPort = stack.Memcached.Port;
        await using (stack)
        {
            // A rebalance would not produce either, but a settled topology keeps the test about the ingress alone.
            await Eventually.WaitUntilAsync(() => stack.Topology.Streams.State == KafkaStreamsState.Running, Deadline, "the topology to run");
            stack.Kafka.PushRequestErrors(KafkaApi.Produce, FatalProduceError);
            var run = UpCommand.RunUntilStoppedAsync([stack], error, timeout.Token);

            await WriteAsync(stack.IngressAddress);
            exit = await run;
        }

        var stderr = error.ToString();
        Assert.False(timeout.IsCancellationRequested, $"wal up ran until the test's deadline instead of stopping\nstderr:\n{stderr}");
        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\nstderr:\n{stderr}");
        Assert.Contains("error: the ingress's Kafka producer (region local) failed fatally", stderr, StringComparison.Ordinal);
        Assert.Contains("OutOfOrderSequenceNumber", stderr, StringComparison.Ordinal);
        Assert.Contains("next: ", stderr, StringComparison.Ordinal);
        Assert.False(await LoopbackPorts.AcceptsAsync(ingressPort), "the ingress outlived wal up");
        Assert.False(await LoopbackPorts.AcceptsAsync(memcachedPort), "memcached outlived wal up");
    }

    [Fact]
    public async Task Ingress_ProducerFailsFatally_StopsListeningAndExitsFailedNamingTheError()
    {
        // The real command, on topics the test makes (the mock cluster has no CreateTopics); the error is pushed once it
        // serves, after the seed's own produce.
        using var kafka = EmbeddedKafkaCluster.Start(brokerCount: 1);
        await kafka.EnsureAsync([new ControlPlaneOptions { BootstrapServers = kafka.BootstrapServers }.TopicSpec]);
        await kafka.EnsureAsync([.. NamespaceSeedFile.Load(SeedFile).Select(NamespaceDefaults.Resolve).Select(ns => new Wal.Kafka.TopicSpec(ns.Topic, ns.Partitions))]);
        var port = LoopbackPorts.Free();
        using var timeout = new CancellationTokenSource(Deadline);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var serving = WalCommandLine.RunAsync(
            [
                "ingress", "--bootstrap-servers", kafka.BootstrapServers, "--namespaces", SeedFile, "--listen", $"127.0.0.1:{port}",
                "--admin-port", "-1", "--no-create-topics",
            ],
            output,
            error,
            timeout.Token);
        await Eventually.WaitUntilAsync(async () => serving.IsCompleted || await LoopbackPorts.AcceptsAsync(port), Deadline, () => $"wal ingress to listen\n{error}");
        Assert.False(serving.IsCompleted, $"wal ingress ended before serving\n{error}");
        kafka.PushRequestErrors(KafkaApi.Produce, FatalProduceError);

        await WriteAsync(new Uri($"http://127.0.0.1:{port}"));
        var exit = await serving.WaitAsync(Deadline);

        var stderr = error.ToString();
        Assert.True(exit == ExitCodes.Failed, $"exit {exit}\nstderr:\n{stderr}");
        Assert.Contains("error: the ingress's Kafka producer failed fatally", stderr, StringComparison.Ordinal);
        Assert.Contains("OutOfOrderSequenceNumber", stderr, StringComparison.Ordinal);
        Assert.Contains("next: ", stderr, StringComparison.Ordinal);
        Assert.False(await LoopbackPorts.AcceptsAsync(port), "the ingress still listens after it stopped");
    }

    // The write that meets the pushed error; its answer (UNKNOWN) is the ingress's business, not this test's.
    private static async Task WriteAsync(Uri address)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        await WalCommandLine.RunAsync(["write", "demo", "--memcached-key", "fatal", "--value", "fatal", "--address", address.ToString()], output, error);
    }
}
