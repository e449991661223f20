using System.Text.Json.Nodes;
using Confluent.Kafka;
using Google.Protobuf;
using Wal.Cli.Operations;
using Wal.Client;
using Wal.Namespaces;
using Wal.Schemas.V1;
using Wal.Topology;

namespace Wal.Cli.Tests.Operator;

[Collection(OperatorCollection.Name)]
public sealed class NamespacesCommandTests(OperatorStackFixture stack)
{
    [Fact]
    public async Task Apply_ThenListGetDelete_RoundTrips()
    {
        var name = $"rt-{Guid.NewGuid():N}"[..14];
        var file = await WriteFileAsync($$"""{"namespaces": [{"name": "{{name}}", "partitions": 2}]}""");

        var created = await OperatorStackFixture.RunAsync("namespaces", "apply", "-f", file, "--address", stack.Address);
        Assert.True(created.Exit == 0, created.ToString());
        Assert.Contains($"created {name}", created.Out, StringComparison.Ordinal);

        await File.WriteAllTextAsync(file, $$"""{"namespaces": [{"name": "{{name}}", "partitions": 2, "maxPayloadBytes": 4096}]}""");
        var updated = await OperatorStackFixture.RunAsync("namespaces", "apply", "-f", file, "--address", stack.Address, "--output", "json");
        Assert.Equal("updated", JsonNode.Parse(updated.Out)!["applied"]![0]!["action"]!.GetValue<string>());

        var list = await OperatorStackFixture.RunAsync("namespaces", "list", "--address", stack.Address, "--output", "json");
        var names = JsonNode.Parse(list.Out)!["namespaces"]!.AsArray().Select(n => n!["name"]!.GetValue<string>());
        Assert.Contains(name, names);
        Assert.Contains("demo", names);

        var get = await OperatorStackFixture.RunAsync("namespaces", "get", name, "--address", stack.Address, "--output", "json");
        var config = JsonNode.Parse(get.Out)!;
        Assert.Equal($"wal.{name}", config["topic"]!.GetValue<string>());
        Assert.Equal(4096, long.Parse(config["maxPayloadBytes"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture));

        var deleted = await OperatorStackFixture.RunAsync("namespaces", "delete", name, "--address", stack.Address);
        Assert.True(deleted.Exit == 0, deleted.ToString());
        var gone = await OperatorStackFixture.RunAsync("namespaces", "get", name, "--address", stack.Address);
        Assert.Equal(ExitCodes.Failed, gone.Exit);
        Assert.Contains("NOT_FOUND", gone.Error, StringComparison.Ordinal);
        Assert.Contains("next: Run 'wal namespaces list'", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_InvalidDefinition_NamesFieldExits2AndChangesNothing()
    {
        var good = $"ok-{Guid.NewGuid():N}"[..14];
        var file = await WriteFileAsync($$"""{"namespaces": [{"name": "{{good}}"}, {"name": "bad", "partitions": 20000}]}""");

        var run = await OperatorStackFixture.RunAsync("namespaces", "apply", "-f", file, "--address", stack.Address);

        Assert.Equal(ExitCodes.Usage, run.Exit);
        Assert.Contains("partitions: 20000 must be between 1 and 10000", run.Error, StringComparison.Ordinal);
        Assert.Contains("next: Fix the named field", run.Error, StringComparison.Ordinal);
        Assert.False(stack.Stack.Namespaces.TryGet(good, out _), "a file with one bad definition must change nothing");
    }

    [Fact]
    public async Task Apply_UnknownField_NamesItExits2()
    {
        var file = await WriteFileAsync("""{"namespaces": [{"name": "x", "partitionz": 2}]}""");

        var run = await OperatorStackFixture.RunAsync("namespaces", "apply", "-f", file, "--address", stack.Address);

        Assert.Equal(ExitCodes.Usage, run.Exit);
        Assert.Contains("partitionz", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateNamespace_InvalidOverGrpc_InvalidArgumentNamingField()
    {
        using var client = new WalClient(new WalClientOptions { Address = new Uri(stack.Address) });

        var e = await Assert.ThrowsAsync<WalCallException>(() => client.CreateNamespaceAsync(new NamespaceConfig { Name = "Bad Name" }));

        Assert.Equal(3, e.StatusCode);
        Assert.Contains("name:", e.StatusMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateNamespace_Taken_AlreadyExists()
    {
        using var client = new WalClient(new WalClientOptions { Address = new Uri(stack.Address) });

        var e = await Assert.ThrowsAsync<WalCallException>(() => client.CreateNamespaceAsync(new NamespaceConfig { Name = "demo" }));

        Assert.Equal(6, e.StatusCode);
    }

    [Fact]
    public async Task CreateNamespace_AgainAfterADeleteWithANewTopicAndAnotherCount_FailedPreconditionNamingTheChangelog()
    {
        // The delete kept the store changelogs (2 partitions); a new log with 4 stopped the topology's stream thread
        // on the changelog partitions it lacked, at every restart.
        var name = $"re-{Guid.NewGuid():N}"[..14];
        using var client = new WalClient(new WalClientOptions { Address = new Uri(stack.Address) });
        await client.CreateNamespaceAsync(new NamespaceConfig { Name = name, Partitions = 2 });
        await client.DeleteNamespaceAsync(name);

        var refused = await Assert.ThrowsAsync<WalCallException>(() =>
            client.CreateNamespaceAsync(new NamespaceConfig { Name = name, Topic = $"wal.{name}-wider", Partitions = 4 }));

        Assert.Equal(9, refused.StatusCode);
        Assert.Contains($"partitions: 4, but topic 'wal-topology-{WalTopology.TimerStoreName(name)}-changelog' exists with 2", refused.StatusMessage, StringComparison.Ordinal);
        Assert.Null(await ScannedAsync(name));
        var sameTopic = await Assert.ThrowsAsync<WalCallException>(() => client.CreateNamespaceAsync(new NamespaceConfig { Name = name, Partitions = 4 }));
        Assert.Contains($"partitions: 4, but topic 'wal.{name}' exists with 2", sameTopic.StatusMessage, StringComparison.Ordinal);
        var again = await client.CreateNamespaceAsync(new NamespaceConfig { Name = name, Topic = $"wal.{name}-wider", Partitions = 2 });
        Assert.Equal(2, again.Partitions);
    }

    [Fact]
    public async Task UpdateAndDelete_Missing_NotFound()
    {
        using var client = new WalClient(new WalClientOptions { Address = new Uri(stack.Address) });

        var update = await Assert.ThrowsAsync<WalCallException>(() => client.UpdateNamespaceAsync(new NamespaceConfig { Name = "never-defined" }));
        var delete = await Assert.ThrowsAsync<WalCallException>(() => client.DeleteNamespaceAsync("never-defined"));

        Assert.Equal(5, update.StatusCode);
        Assert.Equal(5, delete.StatusCode);
    }

    [Fact]
    public async Task ControlPlaneScan_AfterCreateUpdateRogueKeyAndDelete_SeesEachChange()
    {
        // dlq, replay and status read the definitions from the compacted topic, not through the ingress.
        var name = $"cp-{Guid.NewGuid():N}"[..14];
        var file = await WriteFileAsync($$"""{"namespaces": [{"name": "{{name}}", "partitions": 1}]}""");
        Assert.Equal(0, (await OperatorStackFixture.RunAsync("namespaces", "apply", "-f", file, "--address", stack.Address)).Exit);
        Assert.Equal(1, (await ScannedAsync(name))?.Partitions);

        await File.WriteAllTextAsync(file, $$"""{"namespaces": [{"name": "{{name}}", "partitions": 1, "maxPayloadBytes": 4096}]}""");
        Assert.Equal(0, (await OperatorStackFixture.RunAsync("namespaces", "apply", "-f", file, "--address", stack.Address)).Exit);
        Assert.Equal(4096, (await ScannedAsync(name))?.MaxPayloadBytes);

        // Written around Wal under another key: refused, and neither name changes.
        var alias = $"{name}-alias";
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = stack.Bootstrap, Acks = Acks.All }).Build())
        {
            await producer.ProduceAsync(ControlPlaneOptions.DefaultTopic, new Message<string, byte[]>
            {
                Key = alias, Value = new NamespaceConfig { Name = name, Partitions = 5 }.ToByteArray(),
            });
        }

        var all = await NamespaceDirectory.LoadAsync(stack.Bootstrap, CancellationToken.None);
        Assert.Equal(4096, Assert.Single(all, n => n.Name == name).MaxPayloadBytes);
        Assert.DoesNotContain(all, n => n.Name == alias);

        Assert.Equal(0, (await OperatorStackFixture.RunAsync("namespaces", "delete", name, "--address", stack.Address)).Exit);
        Assert.Null(await ScannedAsync(name));
        var dlq = await OperatorStackFixture.RunAsync("dlq", "list", "--namespace", name, "--bootstrap-servers", stack.Bootstrap);
        Assert.Equal(ExitCodes.Failed, dlq.Exit);
        Assert.Contains($"'{name}' is not defined", dlq.Error, StringComparison.Ordinal);
    }

    private async Task<NamespaceConfig?> ScannedAsync(string name) =>
        (await NamespaceDirectory.LoadAsync(stack.Bootstrap, CancellationToken.None)).SingleOrDefault(n => n.Name == name);

    private static async Task<string> WriteFileAsync(string json)
    {
        var file = Path.Combine(Path.GetTempPath(), $"wal-ns-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, json);
        return file;
    }
}
