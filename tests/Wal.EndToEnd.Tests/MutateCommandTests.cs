using System.Text;
using System.Text.Json.Nodes;
using Wal.Cli;

namespace Wal.EndToEnd.Tests;

/// <summary><c>wal mutate</c> against the local stack: the chunks it sends reach memcached, applied in order.</summary>
public sealed class MutateCommandTests(LocalStackFixture wal) : IClassFixture<LocalStackFixture>
{
    private static readonly TimeSpan DeliveryDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Mutate_RepeatedChunks_AreAppliedInOrderToMemcached()
    {
        var prefix = $"mutate-{Guid.NewGuid():N}";
        var (kept, deleted, last) = ($"{prefix}-kept", $"{prefix}-deleted", $"{prefix}-last");

        var run = await RunAsync(
            "mutate", "kv-mutations",
            "--chunk", $"table=local;key={kept};value=Ada",
            "--chunk", $"table=local;key={deleted};value=gone soon",
            "--chunk", $"table=local;key={deleted};delete",
            "--chunk", $"table=local;key={last};value=done",
            "--address", wal.IngressAddress.ToString());

        Assert.True(run.Exit == 0, run.Output);
        Assert.Contains("chunk 3 (put local/" + last + ") durable: TRUE", run.Output, StringComparison.Ordinal);
        Assert.Contains("complete (4 chunk(s)", run.Output, StringComparison.Ordinal);
        var (value, _) = await wal.WaitForDeliveryAsync(last, DeliveryDeadline);
        Assert.Equal("done", Encoding.UTF8.GetString(value));
        Assert.Equal("Ada", Encoding.UTF8.GetString((await wal.WaitForDeliveryAsync(kept, DeliveryDeadline)).Value));
        await wal.WaitForAbsenceAsync(deleted, DeliveryDeadline);
    }

    [Fact]
    public async Task Mutate_FileWithJson_ReportsDurableAndIsApplied()
    {
        var key = $"mutate-file-{Guid.NewGuid():N}";
        var file = Path.Combine(Path.GetTempPath(), $"{key}.json");
        await File.WriteAllTextAsync(file, "{\"chunks\": [{\"table\": \"local\", \"put\": {\"key\": \"" + key + "\", \"value\": {\"name\": \"Ada\"}}}]}");

        var run = await RunAsync("mutate", "kv-mutations", "-f", file, "--request-id", key, "--address", wal.IngressAddress.ToString(), "-o", "json");
        File.Delete(file);

        Assert.True(run.Exit == 0, run.Output);
        var result = JsonNode.Parse(run.Output)!;
        Assert.Equal(key, result["requestId"]!.GetValue<string>());
        // Spelled as wal write -o json and each chunk's answer spell it: protobuf's JSON name of the value.
        Assert.Equal("TRILEAN_TRUE", result["durable"]!.GetValue<string>());
        Assert.Equal("TRILEAN_TRUE", result["chunks"]![0]!["durable"]!.GetValue<string>());
        Assert.Equal("wal.kv-mutations", result["completion"]!["position"]!["topic"]!.GetValue<string>());
        var (value, _) = await wal.WaitForDeliveryAsync(key, DeliveryDeadline);
        Assert.Equal("""{"name":"Ada"}""", Encoding.UTF8.GetString(value));
    }

    [Fact]
    public async Task Mutate_UnknownNamespace_Exit3AndMarkerNotSent()
    {
        var run = await RunAsync("mutate", "no-such-namespace", "--chunk", "table=local;key=k;value=v", "--address", wal.IngressAddress.ToString());

        Assert.Equal(ExitCodes.NotDurable, run.Exit);
        Assert.Contains("chunk 0 (put local/k) durable: FALSE", run.Output, StringComparison.Ordinal);
        Assert.Contains("The completion marker was not sent", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("complete (", run.Output, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await WalCommandLine.RunAsync(args, output, error);
        return (exit, output.ToString() + error.ToString());
    }
}
