using System.Diagnostics;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;
using Xunit.Abstractions;

namespace Wal.Ingress.Tests;

/// <summary>WriteToLog under load from h2load (nghttp2-client), an HTTP/2 client that is not ours.</summary>
public sealed partial class H2LoadTests(ITestOutputHelper output)
{
    private const string H2Load = "/usr/bin/h2load";

    [Fact]
    public async Task WriteToLog_H2LoadManyConcurrentCalls_EveryCallAnsweredAndEveryRecordInTheTopic()
    {
        Assert.True(File.Exists(H2Load), $"{H2Load} is missing: apt-get install nghttp2-client");
        await using var host = await IngressTestHost.StartAsync(brokers: 3);
        const int requests = 4000;
        var request = new WriteToLogRequest
        {
            Namespace = TestNamespaces.Bare,
            Payload = ByteString.CopyFrom(new byte[200]),
            Target = new Target { Kafka = new KafkaTarget { Topic = "elsewhere" } },
        };
        var body = Path.GetTempFileName();
        await File.WriteAllBytesAsync(body, GrpcTestClient.Frame(request));
        try
        {
            var uri = new Uri(host.Address, WriteAheadLogService.WriteToLogPath);
            var (exitCode, text) = await RunAsync(H2Load, "-n", $"{requests}", "-c", "4", "-m", "32", "-d", body,
                "-H", "content-type: application/grpc", "-H", "te: trailers", uri.ToString());
            output.WriteLine(text);

            Assert.True(exitCode == 0, text);
            var done = StatusLine().Match(text);
            Assert.True(done.Success, text);
            Assert.Equal(requests, int.Parse(done.Groups["succeeded"].Value));
            Assert.Equal(requests, int.Parse(done.Groups["twoxx"].Value));
            // h2load sees HTTP statuses only; the topic proves each call became exactly one record.
            Assert.Equal(requests, host.CountRecords(host.TopicOf(TestNamespaces.Bare)));
        }
        finally
        {
            File.Delete(body);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        var (exitCode, stdout, stderr) = await ChildProcess.RunAsync(new ProcessStartInfo(program, args), TimeSpan.FromSeconds(90));
        return (exitCode, stdout + stderr);
    }

    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (?<succeeded>\d+) succeeded.*?status codes: (?<twoxx>\d+) 2xx", RegexOptions.Singleline)]
    private static partial Regex StatusLine();
}
