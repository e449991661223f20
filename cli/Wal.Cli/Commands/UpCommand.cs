using System.CommandLine;
using Microsoft.Extensions.Logging;
using Wal.Cli.Local;

namespace Wal.Cli.Commands;

/// <summary><c>wal up</c>: the whole of Wal in one process, on an embedded Kafka and a local memcached.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var namespaces = new Option<FileInfo?>("--namespaces")
        {
            Description = "Namespace seed file (protobuf JSON). Default: config/namespaces.json, or config/namespaces-two-regions.json with --regions 2.",
        };
        var port = new Option<int>("--port") { Description = "gRPC port of the ingress.", DefaultValueFactory = _ => 50051 };
        var adminPort = new Option<int>("--admin-port") { Description = "HTTP port for /metrics, /healthz, /readyz.", DefaultValueFactory = _ => 50052 };
        var topologyAdminPort = new Option<int>("--topology-admin-port")
        {
            Description = "HTTP port for the topology's /metrics, /healthz, /readyz; -1 turns it off.",
            DefaultValueFactory = _ => Hosting.TopologyAdmin.DefaultPort,
        };
        var memcachedPort = new Option<int>("--memcached-port") { Description = "Port of the memcached this run starts.", DefaultValueFactory = _ => 11311 };
        var brokers = new Option<int>("--brokers") { Description = "Brokers in the embedded Kafka cluster.", DefaultValueFactory = _ => 3 };
        var verbose = new Option<bool>("--verbose") { Description = "Log every delivery." };
        var regions = new Option<int>("--regions")
        {
            Description = "1, or 2 for regions a and b: each with its own embedded Kafka, memcached, topology and ingress, and "
                + "cross-region replication between them. Region b listens 10 ports above a (gRPC, admin) and runs memcached 1 above.",
            DefaultValueFactory = _ => 1,
        };
        regions.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is not (1 or 2))
            {
                r.AddError($"--regions {r.GetValueOrDefault<int>()}: give 1 or 2.");
            }
        });
        var command = new Command("up", "Run Wal locally: embedded Kafka, memcached, the topology and the ingress, until Ctrl-C.")
        {
            namespaces, port, adminPort, topologyAdminPort, memcachedPort, brokers, regions, verbose,
        };
        command.SetServingAction(async (parse, cancellationToken) =>
        {
            using var loggers = LoggerFactory.Create(b => b
                .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
                .SetMinimumLevel(LogLevel.Information)
                .AddFilter("Wal.Topology", parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information)
                .AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
            var twoRegions = parse.GetValue(regions) == 2;
            var options = new LocalStackOptions
            {
                NamespacesFile = parse.GetValue(namespaces)?.FullName ?? DefaultNamespacesFile(twoRegions ? "namespaces-two-regions.json" : "namespaces.json", Environment.CurrentDirectory),
                IngressPort = parse.GetValue(port),
                AdminPort = parse.GetValue(adminPort),
                TopologyAdminPort = parse.GetValue(topologyAdminPort),
                MemcachedPort = parse.GetValue(memcachedPort),
                Brokers = parse.GetValue(brokers),
                // Commit every second, not Kafka Streams' 30 s, so 'wal status' shows lag and
                // timers as they are while you try things; a local run has no load to batch.
                CommitInterval = TimeSpan.FromSeconds(1),
            };
            if (Ports(options, twoRegions).Where(p => p.Port > 0).GroupBy(p => p.Port).FirstOrDefault(g => g.Count() > 1) is { } shared)
            {
                var error = parse.InvocationConfiguration.Error;
                await error.WriteLineAsync($"error: port {shared.Key} is given to both {string.Join(" and ", shared.Select(p => p.Role))}; nothing was started.");
                await error.WriteLineAsync(twoRegions
                    ? "next: region b takes region a's ports plus 10 (memcached's plus 1): choose ports at least 11 apart."
                    : "next: give each of them its own port.");
                return ExitCodes.Usage;
            }

            if (TakenPort.FirstOf(Ports(options, twoRegions)) is { } taken)
            {
                var error = parse.InvocationConfiguration.Error;
                await error.WriteLineAsync($"error: port {taken.Port} ({taken.Role}) is already taken on 127.0.0.1; nothing was started.");
                await error.WriteLineAsync("next: stop what holds it (a memcached or 'wal up' left from an earlier run?), or choose another port with the option named.");
                return ExitCodes.Failed;
            }

            if (twoRegions)
            {
                await using var pair = await TwoRegionStack.StartAsync(options, loggers, cancellationToken);
                PrintWelcome(pair);
                return await RunUntilStoppedAsync(pair.Regions, parse.InvocationConfiguration.Error, cancellationToken);
            }

            await using var stack = await LocalStack.StartAsync(options, loggers, cancellationToken);
            PrintWelcome(stack);
            return await RunUntilStoppedAsync([stack], parse.InvocationConfiguration.Error, cancellationToken);
        });
        return command;
    }

    // Each region's ports, region b's where TwoRegionStack places them.
    private static IEnumerable<(string Role, int Port)> Ports(LocalStackOptions options, bool twoRegions) =>
        (twoRegions ? TwoRegionStack.RegionOptions(options) : [options]).SelectMany(region =>
        {
            var whose = twoRegions ? $"region {region.Region}'s " : "the ";
            return new[]
            {
                ($"{whose}ingress, --port", region.IngressPort),
                ($"{(twoRegions ? whose : string.Empty)}metrics and health, --admin-port", region.AdminPort),
                ($"{(twoRegions ? whose : string.Empty)}memcached, --memcached-port", region.MemcachedPort),
                ($"{whose}topology's metrics and health, --topology-admin-port", region.TopologyAdminPort),
            };
        });

    // Until Ctrl-C, or until a part that nothing in this process revives fails: a topology's stream thread that stopped
    // on an error, or an ingress producer that failed fatally. The run would look alive while its writes were never
    // delivered, or all refused. Stopping says so; the caller's disposal stops the rest.
    internal static async Task<int> RunUntilStoppedAsync(IReadOnlyList<LocalStack> regions, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            var failure = await Task.WhenAny(regions.Select(FailureOfAsync)).Unwrap().WaitAsync(cancellationToken);
            await error.WriteLineAsync($"error: {failure.What}; stopping everything: {failure.Why}");
            await error.WriteLineAsync("next: see the error above, then run wal up again (its embedded Kafka starts empty).");
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("Stopping: ingress, topology (commits its work), memcached, Kafka.");
            return ExitCodes.Ok;
        }
    }

    private static async Task<RegionFailure> FailureOfAsync(LocalStack region)
    {
        var producerFailed = region.IngressProducerFailed;
        if (await Task.WhenAny(region.Topology.Failed, producerFailed) == producerFailed)
        {
            return new(
                $"the ingress's Kafka producer (region {region.Options.Region}) failed fatally, so every write is refused",
                await producerFailed);
        }

        return new(
            $"a stream thread of the topology (region {region.Options.Region}) stopped, so records are no longer delivered",
            (await region.Topology.Failed).GetBaseException().Message);
    }

    private sealed record RegionFailure(string What, string Why);

    private static void PrintWelcome(TwoRegionStack pair)
    {
        var (a, b) = (pair.Regions[0], pair.Regions[1]);
        var replicated = pair.Replicated.Count == 0 ? "none (no namespace has PERSONA_CROSS_REGION_REPLICATION)" : string.Join(", ", pair.Replicated);
        var example = pair.Replicated.Count > 0 ? pair.Replicated[0] : "NAMESPACE";
        Console.WriteLine($"""

            Wal is running in two regions, a and b. Ctrl-C stops everything it started.

            {Region(a)}
            {Region(b)}
              replicated a <-> b   {replicated}

            In another terminal, write in region a and read it in region b:

              ./wal write {example} --memcached-key user:1 --value 'Ada' --address {Address(a)}
              ./wal cache get user:1 --server {b.Memcached.Endpoint}

            """);
    }

    private static string Region(LocalStack region) => $"""
          region {region.Options.Region}
            ingress (gRPC, h2c)  {Address(region)}   service wal.v1.WriteAheadLog
            metrics and health   {AdminEndpoints(region.AdminAddress)}
            topology health      {AdminEndpoints(region.TopologyEndpoints?.Address)}
            Kafka (embedded)     {region.Kafka.BootstrapServers}
            memcached            {region.Memcached.Endpoint}   (cluster "{LocalStack.MemcachedCluster}")
            namespaces           {string.Join(", ", region.Namespaces.All.Select(n => n.Name))}
        """;

    // A port turned off (-1) has no endpoints to list: "off" alone, not "off/metrics".
    internal static string AdminEndpoints(Uri? address) =>
        address is null ? "off" : $"{address.ToString().TrimEnd('/')}/metrics  /healthz  /readyz";

    private static string Address(LocalStack region) => region.IngressAddress.ToString().TrimEnd('/');

    private static void PrintWelcome(LocalStack stack)
    {
        var address = stack.IngressAddress.ToString().TrimEnd('/');
        Console.WriteLine($"""

            Wal is running. Ctrl-C stops everything it started.

              ingress (gRPC, h2c)  {address}   service wal.v1.WriteAheadLog
              metrics and health   {AdminEndpoints(stack.AdminAddress)}
              topology health      {AdminEndpoints(stack.TopologyEndpoints?.Address)}
              Kafka (embedded)     {stack.Kafka.BootstrapServers}
              memcached            {stack.Memcached.Endpoint}   (cluster "{LocalStack.MemcachedCluster}")
              namespaces           {string.Join(", ", stack.Namespaces.All.Select(n => n.Name))}

            In another terminal, write and see it arrive:

              ./wal write demo --memcached-key greeting --value 'hello, wal' --address {address}
              ./wal cache get greeting --server {stack.Memcached.Endpoint}

            """);
    }

    internal static string DefaultNamespacesFile(string name, string startDirectory)
    {
        // The seed next to the repository's wal script, else the one shipped with the binary.
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "config", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "config", name);
    }
}
