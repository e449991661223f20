using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Wal.Ingress.Tests;

/// <summary>
/// A client that vanished without closing (host gone, NAT entry dropped) sends nothing and answers nothing. The ingress
/// pings a silent connection and closes it when the ping goes unanswered; an open stream is exempt from every other rule
/// that would notice.
/// </summary>
public sealed class KeepAlivePingTests
{
    private const byte Settings = 0x4;
    private const byte Ping = 0x6;
    private const byte GoAway = 0x7;

    [Fact]
    public async Task SilentClientConnection_PingedThenClosed()
    {
        await using var host = await IngressTestHost.StartAsync(brokers: 1, configure: o => o.KeepAlivePingDelay = TimeSpan.FromSeconds(1));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(host.Address.Host, host.Address.Port);
        var stream = tcp.GetStream();
        // The HTTP/2 connection preface and an empty SETTINGS frame; after this the "client" says nothing more.
        await stream.WriteAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        await stream.WriteAsync(new byte[] { 0, 0, 0, Settings, 0, 0, 0, 0, 0 });

        var seen = new List<byte>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var closed = false;
        while (!closed)
        {
            var header = new byte[9];
            try
            {
                await stream.ReadExactlyAsync(header, deadline.Token);
            }
            catch (EndOfStreamException)
            {
                closed = true;
                break;
            }
            catch (IOException)
            {
                closed = true; // reset by the server
                break;
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"the connection was not closed within 30 s; frames seen: {string.Join(", ", seen)}");
            }

            var length = (int)(BinaryPrimitives.ReadUInt32BigEndian(header) >> 8);
            await stream.ReadExactlyAsync(new byte[length], deadline.Token);
            seen.Add(header[3]);
            closed = header[3] == GoAway;
        }

        // The loop ends only once the server closed the connection (or the deadline failed the test): a ping came first.
        Assert.Contains(Ping, seen);
    }
}
