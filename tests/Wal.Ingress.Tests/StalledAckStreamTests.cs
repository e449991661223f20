using System.Diagnostics;
using System.Net.Security;
using Google.Protobuf;
using Wal.Grpc.Tests;
using Wal.Schemas.V1;

namespace Wal.Ingress.Tests;

/// <summary>
/// A caller that writes on WriteToLogStream and stops reading the acknowledgements: its HTTP/2 window shuts, Kestrel's
/// response buffer fills, and the call's ack sender waits on a flush. The connection stays alive (it answers keep-alive
/// pings) and Kestrel's minimum response data rate ignores time stalled on flow control, so before StreamAckTimeout the
/// stream, its handler and its queued acks were held for as long as the connection lived (still there after 45 s in a
/// run with keep-alive at 1 s).
/// </summary>
public sealed class StalledAckStreamTests
{
    private const uint EnhanceYourCalm = 0xb;

    // Acks of about 250 bytes: a flush of a few hundred outlasts a slow reader's second.
    private static readonly string LongIdTail = new('x', 200);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WriteToLogStream_CallerStopsReadingAcks_StreamResetAfterAckTimeout(bool tls)
    {
        using var certificates = new TestCertificates();
        await using var host = await IngressTestHost.StartAsync(brokers: 1, configure: o =>
        {
            o.KeepAlivePingDelay = TimeSpan.FromSeconds(1);
            o.MaxStreamInFlight = 10;
            o.StreamAckTimeout = TimeSpan.FromSeconds(1);
            if (tls)
            {
                o.TlsCertificatePath = certificates.ServerCertificatePath;
                o.TlsKeyPath = certificates.ServerKeyPath;
            }
        });
        using var inFlight = new InFlightMeter(host);
        using var requests = new ActiveRequestsMeter(host);
        using var trusting = certificates.Handler(client: null);
        await using var client = await NonReadingHttp2Client.ConnectAsync(host.Address, initialWindow: 1, new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = trusting.SslOptions.RemoteCertificateValidationCallback,
        });
        var stream = await client.OpenAsync(host.Address, WriteAheadLogService.WriteToLogStreamPath);

        for (var i = 1; i <= 600; i++)
        {
            var request = new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)i, Id = $"w{i}-{LongIdTail}", Payload = ByteString.CopyFromUtf8("x") };
            await client.SendAsync(stream, GrpcTestClient.Frame(request));
        }

        await Eventually.WaitUntilAsync(() => requests.Active == 1, TimeSpan.FromSeconds(10), "the call to start");
        var end = await client.EndOf(stream).WaitAsync(TimeSpan.FromSeconds(20));
        await Eventually.WaitUntilAsync(() => requests.Active == 0, TimeSpan.FromSeconds(10), "the call's handler to return and Kestrel to let the stream go");

        Assert.Equal(EnhanceYourCalm, end.ResetCode);
        Assert.Equal(1, client.DataBytes(stream));
        Assert.False(client.ConnectionClosed, "only the stalled stream ends; its connection and other calls on it stay");
        Assert.Equal(0, inFlight.Current);
    }

    // Acks keep flowing at 50 KB/s: a flush of a whole batch of 1,000 acks (about 250 KB) took
    // 5 s, longer than StreamAckTimeout, and the reader was cut off; a flush of at most 64 KiB
    // takes 1.3 s. The timeout between them leaves each side nearly 2 s for a busy machine's
    // stalls (at 100 KB/s and 1.5 s, a stall of 0.9 s reset a reader the server kept up with, on
    // two cores with other test runs). The 2,000 requests (about 520 KB) fit the stream's receive
    // window, which this client does not track.
    [Fact]
    public async Task WriteToLogStream_CallerReadsAcksSlowly_NotReset()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, configure: o =>
        {
            o.MaxStreamInFlight = 1000;
            o.StreamAckTimeout = TimeSpan.FromSeconds(3);
        });
        await using var client = await NonReadingHttp2Client.ConnectAsync(host.Address, initialWindow: 1);
        var stream = await client.OpenAsync(host.Address, WriteAheadLogService.WriteToLogStreamPath);
        // Reading starts with the first ack, as the server's ack timer does, not once every request is
        // sent: acks flow while the requests still go out, and a busy machine slow to send them all
        // held the first flush past the timer.
        using var reading = new CancellationTokenSource();
        var granting = ReadSlowlyAsync(client, stream, reading.Token);
        for (var i = 1; i <= 2000; i++)
        {
            var request = new WriteToLogRequest { Namespace = TestNamespaces.Orders, ClientId = (ulong)i, Id = $"w{i}-{LongIdTail}", Payload = ByteString.CopyFromUtf8("x") };
            await client.SendAsync(stream, GrpcTestClient.Frame(request));
        }

        await client.SendAsync(stream, [], endStream: true);
        var end = await client.EndOf(stream).WaitAsync(TimeSpan.FromSeconds(60));
        await reading.CancelAsync();
        await granting;

        Assert.Null(end.ResetCode);
        Assert.Contains("grpc-status", end.TrailerText, StringComparison.Ordinal);
    }

    // 50 KB/s by the clock from the first byte of acks: a tick that comes late grants what the
    // ticks it missed would have, where a fixed amount a tick fell behind on a busy machine (a
    // PeriodicTimer answers several missed ticks once).
    private static async Task ReadSlowlyAsync(NonReadingHttp2Client client, int stream, CancellationToken cancellationToken)
    {
        const double BytesPerSecond = 50_000;
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        long? started = null;
        long granted = 0;
        try
        {
            while (await pace.WaitForNextTickAsync(cancellationToken))
            {
                if (started is null)
                {
                    if (client.DataBytes(stream) == 0)
                    {
                        continue;
                    }

                    started = Stopwatch.GetTimestamp();
                }

                var due = (long)(Stopwatch.GetElapsedTime(started.Value).TotalSeconds * BytesPerSecond) + 10_000;
                await client.GrantAsync(stream, (int)(due - granted));
                granted = due;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
