using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wal.Cli.Local;
using Wal.Client;
using Wal.Schemas.V1;
using Wal.Sinks.Memcached;

namespace Wal.EndToEnd.Tests;

/// <summary><c>wal up --regions 2</c>: a write accepted in region a is applied to region b's memcached.</summary>
public sealed class TwoRegionTests
{
    [Fact]
    public async Task Write_InRegionA_IsReadFromRegionBMemcached()
    {
        await using var regions = await TwoRegionStack.StartAsync(Options(), NullLoggerFactory.Instance);
        var (a, b) = (regions.Regions[0], regions.Regions[1]);
        Assert.Equal(["profiles"], regions.Replicated);
        var key = $"user-{Guid.NewGuid():N}";
        using var client = new WalClient(new WalClientOptions { Address = a.IngressAddress });

        var response = await client.WriteToLogAsync(new WriteToLogRequest
        {
            Namespace = "profiles",
            Payload = Google.Protobuf.ByteString.CopyFromUtf8("Ada"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = key } },
        });

        Assert.Equal(Trilean.True, response.Durable);
        Assert.Equal("Ada", await WaitForAsync(b.Memcached.Endpoint, key));
        Assert.Equal("Ada", await WaitForAsync(a.Memcached.Endpoint, key));
    }

    [Fact]
    public async Task CreateNamespace_InBothRegionsAfterStart_WriteInAIsReadFromBWithoutRestart()
    {
        await using var regions = await TwoRegionStack.StartAsync(Options(), NullLoggerFactory.Instance);
        var (a, b) = (regions.Regions[0], regions.Regions[1]);
        var accounts = new NamespaceConfig
        {
            Name = "accounts",
            Partitions = 2,
            Personas = { Persona.Delivery, Persona.CrossRegionReplication },
            DefaultTarget = new Target { Memcached = new MemcachedTarget { Cluster = "local" } },
            // The addresses are placeholders: the stack maps region names to its embedded clusters.
            Regions = { new Region { Name = "a", BootstrapServers = "kafka-a:9092" }, new Region { Name = "b", BootstrapServers = "kafka-b:9092" } },
        };
        using var clientA = new WalClient(new WalClientOptions { Address = a.IngressAddress });
        using var clientB = new WalClient(new WalClientOptions { Address = b.IngressAddress });

        // Each region has its own control plane: the namespace is defined in both, as an operator would.
        await clientB.CreateNamespaceAsync(accounts);
        await clientA.CreateNamespaceAsync(accounts);
        var key = $"account-{Guid.NewGuid():N}";
        var response = await clientA.WriteToLogAsync(new WriteToLogRequest
        {
            Namespace = "accounts",
            Payload = Google.Protobuf.ByteString.CopyFromUtf8("Grace"),
            Target = new Target { Memcached = new MemcachedTarget { Cluster = "local", Key = key } },
        });

        Assert.Equal(Trilean.True, response.Durable);
        Assert.Equal("Grace", await WaitForAsync(b.Memcached.Endpoint, key));
        Assert.Contains("accounts", regions.Replicated);
    }

    private static LocalStackOptions Options() => new()
    {
        NamespacesFile = Path.Combine(AppContext.BaseDirectory, "config", "namespaces-two-regions.json"),
        Brokers = 1,
        IngressPort = 0,
        AdminPort = -1,
        MemcachedPort = 0,
        StateDirectory = Path.Combine(Path.GetTempPath(), $"wal-e2e-regions-{Guid.NewGuid():N}"),
    };

    private static async Task<string> WaitForAsync(string server, string key)
    {
        await using var memcached = new MemcachedClient(new MemcachedClientOptions { Servers = [server] });
        var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 60);
        while (Stopwatch.GetTimestamp() < until)
        {
            if (await memcached.GetAsync(key) is { } item && VersionedValue.TryDecode(item.ClientFlags, item.Value, out _, out var tombstone, out var payload) && !tombstone)
            {
                return Encoding.UTF8.GetString(payload.Span);
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException($"'{key}' did not reach memcached at {server} within 60 s");
    }
}
