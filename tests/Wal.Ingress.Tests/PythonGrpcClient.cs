using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Wal.Grpc;
using Wal.Grpc.Rpc;

namespace Wal.Ingress.Tests;

/// <summary>
/// Runs interop/grpc_call.py with Debian's python3-grpcio: a real, independent gRPC client.
/// A machine without it fails the test loudly rather than skipping it.
/// </summary>
public static class PythonGrpcClient
{
    private const string Python = "/usr/bin/python3";

    public sealed record Result(StatusCode Code, string? Details, byte[]? Response, Status? StatusDetails);

    public static async Task<Result> CallAsync(Uri address, string method, byte[] request, double timeoutSeconds = 30)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "interop", "grpc_call.py");
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { script, $"{address.Host}:{address.Port}", method, "-", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start");
        // The request goes through stdin: argv is limited to 128 KiB per argument.
        await process.StandardInput.WriteAsync(Convert.ToHexString(request));
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            Assert.Fail($"{Python} {script} failed with exit code {process.ExitCode} (3 = python3-grpcio missing: apt-get install python3-grpcio): {await stderr}");
        }

        using var json = JsonDocument.Parse(await stdout);
        var root = json.RootElement;
        return new Result(
            (StatusCode)root.GetProperty("code_value").GetInt32(),
            root.GetProperty("details").GetString(),
            Hex(root.GetProperty("response_hex")),
            Hex(root.GetProperty("status_details_hex")) is { } details ? Status.Parser.ParseFrom(details) : null);
    }

    public static Task<Result> CallAsync(Uri address, string method, IMessage request) => CallAsync(address, method, request.ToByteArray());

    private static byte[]? Hex(JsonElement element) =>
        element.ValueKind == JsonValueKind.Null ? null : Convert.FromHexString(element.GetString()!);
}
