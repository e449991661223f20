using Wal.Cli.Settings;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Wal.Cli.Tests;

/// <summary>
/// No Docker engine runs on the machines that build Wal, so docker-compose.yml is checked here
/// against what the code reads: commands, environment variables, ports, files and dependencies.
/// </summary>
public sealed class DockerComposeTests
{
    private static readonly string Repo = Path.Combine(AppContext.BaseDirectory, "repo");
    private readonly YamlMappingNode _services;

    public DockerComposeTests()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Repo, "docker-compose.yml"));
        // Compose files share settings through anchors and merge keys (<<: *wal); resolve them as compose does.
        yaml.Load(new MergingParser(new Parser(reader)));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        _services = (YamlMappingNode)root["services"];
    }

    private IEnumerable<(string Name, YamlMappingNode Service)> Services =>
        _services.Children.Select(c => (((YamlScalarNode)c.Key).Value!, (YamlMappingNode)c.Value));

    private IEnumerable<(string Name, YamlMappingNode Service)> WalServices =>
        Services.Where(s => Scalar(s.Service, "image") == "wal:local");

    [Fact]
    public void Services_CoverTwoRegionsOfKafkaMemcachedIngressAndTopology_PlusCassandra()
    {
        var names = Services.Select(s => s.Name).ToHashSet();

        Assert.Superset(new HashSet<string> { "kafka-a", "kafka-b", "memcached-a", "memcached-b", "ingress-a", "ingress-b", "topology-a", "topology-b", "cassandra" }, names);
    }

    [Fact]
    public void WalServices_RunCommandsTheCliHas()
    {
        var commands = WalCommandLine.Create().Subcommands.Select(c => c.Name).ToHashSet();

        foreach (var (name, service) in WalServices)
        {
            var command = Sequence(service, "command").First();
            Assert.True(commands.Contains(command), $"{name} runs 'wal {command}', which the CLI does not have");
        }
    }

    [Fact]
    public void WalServices_SetOnlyVariablesTheCodeReads()
    {
        foreach (var (name, service) in WalServices)
        {
            foreach (var variable in Environment(service).Keys)
            {
                Assert.True(WalEnvironment.All.Contains(variable), $"{name} sets {variable}, which Wal does not read");
            }
        }
    }

    [Fact]
    public void WalServices_PointAtServicesThatExist()
    {
        var names = Services.Select(s => s.Name).ToHashSet();
        foreach (var (name, service) in WalServices)
        {
            var env = Environment(service);
            var endpoints = new List<string> { env[WalEnvironment.BootstrapServers] };
            endpoints.AddRange(NamedEndpoints.Parse(env.GetValueOrDefault(WalEnvironment.Regions), "regions").Values);
            endpoints.AddRange(NamedEndpoints.Parse(env.GetValueOrDefault(WalEnvironment.MemcachedClusters), "memcached").Values);
            if (env.TryGetValue(WalEnvironment.CassandraContactPoints, out var cassandra))
            {
                endpoints.Add(cassandra);
            }

            foreach (var endpoint in endpoints)
            {
                var host = endpoint.Split(':')[0];
                Assert.True(names.Contains(host), $"{name} points at {endpoint}, but there is no service {host}");
            }
        }
    }

    [Fact]
    public void KafkaServices_RunKRaftAndAdvertiseTheirServiceName()
    {
        foreach (var (name, service) in Services.Where(s => s.Name.StartsWith("kafka-", StringComparison.Ordinal)))
        {
            var env = Environment(service);
            Assert.Equal("broker,controller", env["KAFKA_PROCESS_ROLES"]);
            Assert.Equal($"PLAINTEXT://{name}:9092", env["KAFKA_ADVERTISED_LISTENERS"]);
        }
    }

    [Fact]
    public void Ingress_PublishesTheContainerPortItListensOn()
    {
        foreach (var (name, service) in WalServices.Where(s => Sequence(s.Service, "command").First() == "ingress"))
        {
            var listenPort = Environment(service)[WalEnvironment.Listen].Split(':')[^1];
            var published = Sequence(service, "ports").Single();
            Assert.EndsWith($":{listenPort}", published, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Topology_CanBeScaled_NoFixedNameOrHostPort()
    {
        foreach (var (name, service) in WalServices.Where(s => Sequence(s.Service, "command").First() == "topology"))
        {
            Assert.False(service.Children.ContainsKey("container_name"), $"{name} has a container_name, so --scale cannot start a second one");
            Assert.False(service.Children.ContainsKey("ports"), $"{name} publishes a host port, so --scale would collide");
        }
    }

    [Fact]
    public void DependsOn_HealthyConditions_HaveHealthChecks()
    {
        var byName = Services.ToDictionary(s => s.Name, s => s.Service);
        foreach (var (name, service) in Services.Where(s => s.Service.Children.ContainsKey("depends_on")))
        {
            foreach (var dependency in ((YamlMappingNode)service["depends_on"]).Children)
            {
                var target = ((YamlScalarNode)dependency.Key).Value!;
                Assert.True(byName.ContainsKey(target), $"{name} depends on missing service {target}");
                Assert.True(byName[target].Children.ContainsKey("healthcheck"), $"{name} waits for {target} to be healthy, but it has no health check");
            }
        }
    }

    [Fact]
    public void NamespacesFile_IsMountedWhereTheServicesReadIt()
    {
        foreach (var (name, service) in WalServices)
        {
            var mount = Sequence(service, "volumes").Single(v => v.Contains("namespaces.json", StringComparison.Ordinal)).Split(':');
            Assert.Equal("./config/namespaces.json", mount[0]);
            Assert.True(File.Exists(Path.Combine(Repo, "config", "namespaces.json")));
            Assert.Equal(Environment(service)[WalEnvironment.NamespacesFile], mount[1]);
        }
    }

    [Fact]
    public void Dockerfile_PublishesTheCliAndInstallsTheNativeLibraries()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Repo, "Dockerfile"));

        Assert.Contains("cli/Wal.Cli/Wal.Cli.csproj", dockerfile, StringComparison.Ordinal);
        Assert.Contains("librdkafka", dockerfile, StringComparison.Ordinal);
        Assert.Contains("librocksdb", dockerfile, StringComparison.Ordinal);
        Assert.Contains("/app/wal.dll", dockerfile, StringComparison.Ordinal);
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlScalarNode)value).Value : null;

    private static List<string> Sequence(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(key, out var value) ? ((YamlSequenceNode)value).Children.Select(c => ((YamlScalarNode)c).Value!).ToList() : [];

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        service.Children.TryGetValue("environment", out var env)
            ? ((YamlMappingNode)env).Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value!)
            : [];
}
