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

    /// <param name="address">The ingress.</param>
    /// <param name="method">The full method path.</param>
    /// <param name="request">The serialized request.</param>
    /// <param name="timeoutSeconds">The call's deadline.</param>
    /// <param name="tls">PEM files: the one CA to trust, then optionally a client certificate and its key; none for h2c.</param>
    public static Task<Result> CallAsync(Uri address, string method, byte[] request, double timeoutSeconds = 30, params string[] tls) =>
        CallAsync(address, method, request, retry: null, timeoutSeconds, tls);

    /// <param name="address">The ingress.</param>
    /// <param name="method">The full method path.</param>
    /// <param name="request">The serialized request.</param>
    /// <param name="retry">
    /// grpc's own retries of RESOURCE_EXHAUSTED, set in the channel's service config: attempts in all, and the backoff
    /// between them that the server's <c>grpc-retry-pushback-ms</c> overrides. Null: no retries.
    /// </param>
    /// <param name="timeoutSeconds">The call's deadline, for all its attempts.</param>
    /// <param name="tls">As for the overload without retries.</param>
    public static async Task<Result> CallAsync(Uri address, string method, byte[] request, (int Attempts, TimeSpan Backoff)? retry, double timeoutSeconds = 30, params string[] tls)
    {
        string[] flags = retry is { } r
            ? [string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--retry={r.Attempts},{r.Backoff.TotalSeconds}")]
            : [];
        // The request goes through stdin ("-"): one argument may not exceed 128 KiB.
        var root = await RunAsync("grpc_call.py",
            [.. flags, $"{address.Host}:{address.Port}", method, "-", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. tls],
            Convert.ToHexString(request));
        return new Result(
            (StatusCode)root.GetProperty("code_value").GetInt32(),
            root.GetProperty("details").GetString(),
            Hex(root.GetProperty("response_hex")),
            Hex(root.GetProperty("status_details_hex")) is { } details ? Status.Parser.ParseFrom(details) : null);
    }

    public static Task<Result> CallAsync(Uri address, string method, IMessage request) => CallAsync(address, method, request.ToByteArray());

    /// <summary>A bidirectional stream: sends every request, returns the status and every response.</summary>
    public static async Task<(StatusCode Code, IReadOnlyList<byte[]> Responses)> StreamAsync(Uri address, string method, IEnumerable<IMessage> requests)
    {
        var root = await RunAsync("grpc_stream.py", [$"{address.Host}:{address.Port}", method, .. requests.Select(r => Convert.ToHexString(r.ToByteArray()))]);
        var responses = root.GetProperty("responses_hex").EnumerateArray().Select(e => Convert.FromHexString(e.GetString()!)).ToList();
        return ((StatusCode)root.GetProperty("code_value").GetInt32(), responses);
    }

    private static async Task<JsonElement> RunAsync(string scriptName, IEnumerable<string> args, string? input = null)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "interop", scriptName);
        var start = new ProcessStartInfo(Python);
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var (exitCode, stdout, stderr) = await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(60), input);
        if (exitCode != 0)
        {
            Assert.Fail($"{Python} {script} failed with exit code {exitCode} (3 = python3-grpcio missing: apt-get install python3-grpcio): {stderr}");
        }

        using var json = JsonDocument.Parse(stdout);
        return json.RootElement.Clone();
    }

    private static byte[]? Hex(JsonElement element) =>
        element.ValueKind == JsonValueKind.Null ? null : Convert.FromHexString(element.GetString()!);
}
