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
            foreach (var clusters in new[] { WalEnvironment.MemcachedClusters, WalEnvironment.CassandraClusters, WalEnvironment.KafkaClusters })
            {
                endpoints.AddRange(NamedEndpoints.Parse(env.GetValueOrDefault(clusters), clusters).Values.SelectMany(servers => servers.Split(';')));
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
    public void DependsOn_HealthyConditionsHaveHealthChecks_CompletedConditionsAreOneShot()
    {
        var byName = Services.ToDictionary(s => s.Name, s => s.Service);
        foreach (var (name, service) in Services.Where(s => s.Service.Children.ContainsKey("depends_on")))
        {
            foreach (var dependency in ((YamlMappingNode)service["depends_on"]).Children)
            {
                var target = ((YamlScalarNode)dependency.Key).Value!;
                Assert.True(byName.ContainsKey(target), $"{name} depends on missing service {target}");
                var condition = Scalar((YamlMappingNode)dependency.Value, "condition");
                switch (condition)
                {
                    case "service_healthy":
                        Assert.True(byName[target].Children.ContainsKey("healthcheck"), $"{name} waits for {target} to be healthy, but it has no health check");
                        break;
                    case "service_completed_successfully":
                        Assert.False(byName[target].Children.ContainsKey("restart"), $"{name} waits for {target} to finish, but it is restarted");
                        Assert.NotEmpty(Sequence(byName[target], "command"));
                        break;
                    default:
                        Assert.Fail($"{name} waits for {target} with condition '{condition}'");
                        break;
                }
            }
        }
    }

    [Fact]
    public void Ingress_MutualTls_FilesAreOnesTheCertsServiceWrites()
    {
        var certs = _services.Children[new YamlScalarNode("certs")] as YamlMappingNode;
        Assert.NotNull(certs);
        Assert.Contains("make-certs.sh /certs", string.Join(' ', Sequence(certs, "command")), StringComparison.Ordinal);
        Assert.Contains("./config/tls/make-certs.sh:/make-certs.sh:ro", Sequence(certs, "volumes"));
        var hostDirectory = Sequence(certs, "volumes").Single(v => v.EndsWith(":/certs", StringComparison.Ordinal)).Split(':')[0];
        using var made = new Tls.ComposeCertificates();
        foreach (var (name, service) in WalServices.Where(s => Sequence(s.Service, "command").First() == "ingress"))
        {
            var depends = (YamlMappingNode)service["depends_on"];
            Assert.Equal("service_completed_successfully", Scalar((YamlMappingNode)depends[new YamlScalarNode("certs")], "condition"));
            var mount = Sequence(service, "volumes").Single(v => v.StartsWith(hostDirectory + ":", StringComparison.Ordinal)).Split(':');
            var env = Environment(service);
            foreach (var variable in new[] { WalEnvironment.TlsCertificate, WalEnvironment.TlsKey, WalEnvironment.TlsClientCa })
            {
                Assert.True(env.TryGetValue(variable, out var path), $"{name} does not set {variable}");
                Assert.StartsWith(mount[1] + "/", path, StringComparison.Ordinal);
                var file = path[(mount[1].Length + 1)..];
                Assert.True(File.Exists(made.File(file)), $"{name}: {variable}={path}, but make-certs.sh writes no {file}");
            }
        }
    }

    // The key that issues certificates every ingress trusts has no business inside a process that serves TLS.
    [Fact]
    public void CertsService_KeepsTheCasKeyInAVolumeNoWalServiceMounts()
    {
        var certs = (YamlMappingNode)_services.Children[new YamlScalarNode("certs")];
        var command = string.Join(' ', Sequence(certs, "command"));
        var keyDirectory = command[(command.IndexOf("make-certs.sh /certs ", StringComparison.Ordinal) + "make-certs.sh /certs ".Length)..].Split(' ', '"')[0];
        Assert.False(string.IsNullOrEmpty(keyDirectory), $"the certs service gives make-certs.sh no directory for the CA's key: {command}");
        var keyVolume = Sequence(certs, "volumes").Single(v => v.EndsWith(":" + keyDirectory, StringComparison.Ordinal)).Split(':')[0];
        Assert.All(WalServices, s => Assert.DoesNotContain(Sequence(s.Service, "volumes"), v => v.Split(':')[0] == keyVolume));
        using var made = new Tls.ComposeCertificates();
        var keys = Path.Combine(made.Directory, "ca-keys");
        Tls.ComposeCertificates.Run(made.Directory, keys);
        Assert.False(File.Exists(made.File("ca.key")), "make-certs.sh left the CA's key beside the certificates");
    }

    [Fact]
    public void Ingress_AdminClients_IsTheClientCertificateTheCertsServiceMakes()
    {
        foreach (var (name, service) in WalServices.Where(s => Sequence(s.Service, "command").First() == "ingress"))
        {
            Assert.True(Environment(service).TryGetValue(WalEnvironment.AdminClients, out var admins), $"{name} lets any caller change namespaces");
            Assert.Equal(Tls.ComposeCertificates.ClientName, admins);
        }
    }

    [Fact]
    public void IngressCommand_AdminClients_CommaSeparatedAndRepeatable()
    {
        var ingress = WalCommandLine.Create().Subcommands.Single(c => c.Name == "ingress");
        var option = (System.CommandLine.Option<string[]>)ingress.Options.Single(o => o.Name == "--admin-clients");

        var parsed = ingress.Parse(["--admin-clients", "ops, deployer", "--admin-clients", "auditor"]);

        Assert.Empty(parsed.Errors);
        Assert.Equal(["ops", "deployer", "auditor"], parsed.GetValue(option)!);
    }

    [Fact]
    public void Ingress_HealthCheck_ProbesThePlainHttpAdminPort()
    {
        var adminPort = new Wal.Ingress.IngressOptions().AdminPort;
        foreach (var (name, service) in WalServices.Where(s => Sequence(s.Service, "command").First() == "ingress"))
        {
            var probe = Sequence((YamlMappingNode)service["healthcheck"], "test");
            // The gRPC port speaks only HTTP/2 (over TLS here); the admin port is where /readyz is plain HTTP/1.1.
            Assert.Contains($"http://127.0.0.1:{adminPort}/readyz", probe);
        }
    }

    [Fact]
    public void Topology_HealthCheck_ProbesLivenessOnTheAdminPortItListensOnForOthers()
    {
        var topologies = WalServices.Where(s => Sequence(s.Service, "command").First() == "topology").ToList();

        Assert.NotEmpty(topologies);
        foreach (var (name, service) in topologies)
        {
            var probe = Sequence((YamlMappingNode)service["healthcheck"], "test");
            // Liveness: /readyz would call an instance restoring its stores unhealthy.
            Assert.Contains($"http://127.0.0.1:{Wal.Cli.Hosting.TopologyAdmin.DefaultPort}/healthz", probe);
            Assert.True(Environment(service).GetValueOrDefault(WalEnvironment.AdminHost) == "0.0.0.0", $"{name} serves its metrics to its own loopback only");
        }
    }

    [Fact]
    public void WalServices_StopGracePeriod_LetsWalStopWhatItStarted()
    {
        // Compose kills a container 10 s after SIGTERM unless told otherwise. The ingress needs up to its produce timeout
        // plus its stream grace and 5 s (17 s by default) to answer the writes in flight; killed sooner, their callers get
        // UNKNOWN for writes Kafka was about to acknowledge, and a topology killed mid-commit repeats work it had done.
        var ingress = new Wal.Ingress.IngressOptions();
        var ingressStop = ingress.ProduceTimeout + ingress.StreamEndingGrace + TimeSpan.FromSeconds(5);
        Assert.True(WalCommandLine.StopTimeout >= ingressStop, $"wal gives a command {WalCommandLine.StopTimeout} to stop; the ingress takes up to {ingressStop}");
        foreach (var (name, service) in WalServices)
        {
            var grace = Scalar(service, "stop_grace_period");
            Assert.True(grace is not null, $"{name} has no stop_grace_period: compose kills it 10 s after SIGTERM, wal takes up to {WalCommandLine.StopTimeout} to stop");
            Assert.True(ComposeDuration(grace) >= WalCommandLine.StopTimeout, $"{name}: stop_grace_period {grace} is shorter than the {WalCommandLine.StopTimeout} wal takes to stop");
        }
    }

    [Fact]
    public void Readme_DockerSection_WritesWithTheClientCertificateTheCertsServiceMakes()
    {
        var readme = File.ReadAllText(Path.Combine(Repo, "README.md"));
        var docker = readme[readme.IndexOf("## Running against real Kafka", StringComparison.Ordinal)..];
        docker = docker[..docker.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        var write = docker.Split('\n').Select(l => l.Trim()).SkipWhile(l => !l.Contains("wal write", StringComparison.Ordinal))
            .TakeWhile(l => l.Length > 0 && l != "```").Aggregate(string.Empty, (all, l) => all + " " + l.TrimEnd('\\'));
        var options = WalCommandLine.Create().Subcommands.Single(c => c.Name == "write").Options.Select(o => o.Name).ToHashSet();

        Assert.Contains("https://localhost:50051", write, StringComparison.Ordinal);
        foreach (var (option, file) in new[] { ("--tls-cert", "certs/client.pem"), ("--tls-key", "certs/client.key"), ("--tls-ca", "certs/ca.pem") })
        {
            Assert.Contains(option, options);
            Assert.Contains($"{option} {file}", write, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Readme_DockerSection_RunsTheCommandsThatReadKafkaInAWalContainerThatNamesIt()
    {
        // Compose publishes no Kafka port to the host, so 'wal status' or 'wal dlq' run there found no broker; README
        // did not say where else to run them.
        var readme = File.ReadAllText(Path.Combine(Repo, "README.md"));
        var docker = readme[readme.IndexOf("## Running against real Kafka", StringComparison.Ordinal)..];
        docker = docker[..docker.IndexOf("\n## ", 3, StringComparison.Ordinal)].Replace("\n", " ", StringComparison.Ordinal);
        var runs = System.Text.RegularExpressions.Regex.Matches(docker, @"docker compose exec (\S+) dotnet (\S+) (\w+) ?(\w*)");
        var commands = WalCommandLine.Create().Subcommands.ToDictionary(c => c.Name);
        var services = WalServices.ToDictionary(s => s.Name, s => s.Service);

        Assert.Contains(runs, r => r.Groups[3].Value == "status");
        Assert.Contains(runs, r => r.Groups[3].Value == "dlq");
        foreach (var run in runs.Cast<System.Text.RegularExpressions.Match>())
        {
            var (service, entry, command) = (run.Groups[1].Value, run.Groups[2].Value, run.Groups[3].Value);
            Assert.True(services.ContainsKey(service), $"README runs '{command}' in {service}, which is no Wal service");
            Assert.True(Environment(services[service]).ContainsKey(WalEnvironment.BootstrapServers), $"{service} does not name its Kafka");
            Assert.Contains(entry, File.ReadAllText(Path.Combine(Repo, "Dockerfile")), StringComparison.Ordinal);
            var leaf = commands[command].Subcommands.SingleOrDefault(c => c.Name == run.Groups[4].Value) ?? commands[command];
            Assert.Contains(leaf.Options, o => o.Name == "--bootstrap-servers");
        }
    }

    [Fact]
    public void ReplicationDoc_DockerSection_CreatesTheNamespaceThroughEachRegionsIngress()
    {
        // The namespace file seeds a region's control plane only while it is empty, and each region has its own (on its
        // own Kafka). Told to add the namespace to the file and run docker compose up -d, a user who had started compose
        // before, as README has them do, got no such namespace in either region.
        var doc = File.ReadAllText(Path.Combine(Repo, "docs", "replication.md"));
        var docker = doc[doc.IndexOf("With Docker:", StringComparison.Ordinal)..];
        docker = docker[..docker.IndexOf("\n## ", StringComparison.Ordinal)];
        var ingresses = WalServices.Where(s => Sequence(s.Service, "command").First() == "ingress").ToList();

        Assert.Equal(2, ingresses.Count);
        Assert.Contains("wal namespaces apply", docker, StringComparison.Ordinal);
        foreach (var (name, service) in ingresses)
        {
            var hostPort = Sequence(service, "ports").Single().Split(':')[^2];
            Assert.True(docker.Contains($"https://localhost:{hostPort}", StringComparison.Ordinal), $"the replication doc never creates the namespace through {name} (https://localhost:{hostPort})");
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

    [Fact]
    public void Dockerfile_RunsAsAnUnprivilegedUser_WhoCanWriteTheTopologysStateDirectory()
    {
        // The image's last stage is what runs. The .NET images carry an unprivileged user (APP_UID) but start as root.
        var runtime = RuntimeStage();
        var user = runtime.LastOrDefault(l => l.StartsWith("USER ", StringComparison.Ordinal))?["USER ".Length..].Trim();
        Assert.True(user is not null && user is not ("root" or "0" or "0:0"), $"the image runs as {user ?? "root"}");
        foreach (var (name, service) in WalServices.Where(s => Sequence(s.Service, "command").First() == "topology"))
        {
            // Under /var/lib only root may create it: the image must make it, and give it to that user.
            var stateDirectory = Environment(service)[WalEnvironment.StateDir];
            Assert.True(
                runtime.Any(l => l.StartsWith("RUN ", StringComparison.Ordinal) && l.Contains("mkdir", StringComparison.Ordinal)
                    && l.Contains(stateDirectory, StringComparison.Ordinal) && l.Contains("chown", StringComparison.Ordinal)),
                $"{name} keeps its stores in {stateDirectory}, which the image neither makes nor gives to {user}");
        }
    }

    [Fact]
    public void Dockerfile_ClearsTheBaseImagesHttpPort()
    {
        // The .NET images set ASPNETCORE_HTTP_PORTS=8080; every Wal process listens where its options say, and warned at
        // each start that it was overriding http://*:8080.
        Assert.Contains(RuntimeStage(), l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^ENV\s+ASPNETCORE_HTTP_PORTS=\s*$"));
    }

    // The build stage copies the whole context: a built checkout's bin/ and obj/ (with this machine's paths in its
    // restore files) and ./certs, the demo's keys, went into it and into the cached layers.
    [Fact]
    public void DockerIgnore_LeavesBuildOutputCertificatesAndHistoryOutOfTheBuildContext()
    {
        var path = Path.Combine(Repo, ".dockerignore");
        Assert.True(File.Exists(path), "no .dockerignore: 'COPY . .' sends bin/, obj/ and ./certs into the image build");
        var patterns = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Contains("**/bin/", patterns);
        Assert.Contains("**/obj/", patterns);
        Assert.Contains("certs/", patterns);
        Assert.Contains(".git/", patterns);
    }

    // The Dockerfile's last stage, one instruction a line (continuations joined).
    private static List<string> RuntimeStage()
    {
        var text = File.ReadAllText(Path.Combine(Repo, "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        return lines[lines.FindLastIndex(l => l.StartsWith("FROM ", StringComparison.Ordinal))..];
    }

    // Compose's durations: a number and a unit, repeated (1m30s); no unit is not allowed.
    private static TimeSpan ComposeDuration(string text)
    {
        var parts = System.Text.RegularExpressions.Regex.Matches(text, @"(\d+(?:\.\d+)?)(h|ms|m|s|us)");
        Assert.True(parts.Sum(p => p.Length) == text.Length && parts.Count > 0, $"'{text}' is not a compose duration");
        return parts.Aggregate(TimeSpan.Zero, (sum, p) => sum + double.Parse(p.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * p.Groups[2].Value switch
        {
            "h" => TimeSpan.FromHours(1),
            "m" => TimeSpan.FromMinutes(1),
            "s" => TimeSpan.FromSeconds(1),
            "ms" => TimeSpan.FromMilliseconds(1),
            _ => TimeSpan.FromMicroseconds(1),
        });
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
